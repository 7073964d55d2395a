"""The cheap per-trial paths ask what the plain ones did, and a killed search still resumes exactly.

The controller saves its weights to a binary file beside the JSON only after a learning update; the Optuna
samplers are told their search space instead of scanning the study for it, and their SQLite study runs in WAL
mode. None of that may change a single ask.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

import nas.samplers.base as sampler_base
from nas.samplers import Outcome, load_sampler, make_sampler
from nas.samplers.controller import _to_plain
from nas.samplers.weights_files import WeightsFiles
from tests.test_samplers import DECISIONS, FAST_OPTIONS, drive, make, outcome_for


def weights_files(folder):
    return sorted(path.name for path in folder.glob("*.weights-*.pt"))


def other_outcome(choices) -> Outcome:
    """Rewards unlike outcome_for's, so a controller told these learns different weights."""
    return Outcome("ok", 0.9 - outcome_for(choices).reward, {"params": 1e5})


def test_controller_json_is_small_and_weights_are_written_only_after_an_update(tmp_path, monkeypatch):
    sampler = make("controller")  # batch_size 2: an update every second tell
    path = tmp_path / "sampler.json"
    written = []
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, file: (written.append(Path(file).name), real_save(obj, file)))
    for _ in range(2):  # ask, save, tell, save, as a search does; the second tell triggers update 1
        suggestion = sampler.ask()
        sampler.save(path)
        sampler.tell(suggestion.token, outcome_for(suggestion.choices))
        sampler.save(path)
    assert len(written) == 2  # update 0's weights at the first save, update 1's after the second tell; not 4
    saved = json.loads(path.read_text())["state"]
    assert "policy" not in saved and "optimizer" not in saved
    assert saved["weights_file"] == "sampler.json.weights-1.pt"
    assert weights_files(tmp_path) == ["sampler.json.weights-1.pt"]  # update 0's file removed after the switch


def test_controller_binary_state_round_trips_exactly(tmp_path):
    sampler = make("controller", seed=4)
    drive(sampler, 5)  # two updates and one result waiting in the batch
    left = sampler.ask()
    sampler.save(tmp_path / "sampler.json")
    restored = load_sampler(tmp_path / "sampler.json")
    assert restored.pending() == [left] and restored.updates == sampler.updates == 2
    assert restored.probabilities() == sampler.probabilities()
    for twin in (sampler, restored):
        twin.tell(left.token, outcome_for(left.choices))
    assert drive(restored, 7) == drive(sampler, 7)
    assert restored.probabilities() == sampler.probabilities()


def test_controller_killed_between_weights_and_json_resumes_from_the_last_json(tmp_path, monkeypatch):
    path = tmp_path / "sampler.json"
    sampler = make("controller", seed=2)
    drive(sampler, 2)  # update 1
    sampler.save(path)
    reference = load_sampler(path)  # what a resume must see until a new JSON is in place

    drive(sampler, 2)  # update 2: new weights
    monkeypatch.setattr(sampler_base, "write_json_atomically", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):  # killed after the weights file, before the JSON
        sampler.save(path)
    monkeypatch.undo()
    assert weights_files(tmp_path) == ["sampler.json.weights-1.pt", "sampler.json.weights-2.pt"]

    resumed = load_sampler(path)
    assert resumed.updates == 1 and resumed.probabilities() == reference.probabilities()
    # The resumed search learns from other results: its own update 2 must replace the stale file of that name.
    for suggestion in (resumed.ask(), resumed.ask()):
        resumed.tell(suggestion.token, other_outcome(suggestion.choices))
    assert resumed.updates == 2 and resumed.probabilities() != sampler.probabilities()
    resumed.save(path)
    assert load_sampler(path).probabilities() == resumed.probabilities()
    assert weights_files(tmp_path) == ["sampler.json.weights-2.pt"]


def test_controller_killed_before_old_weights_are_removed_resumes_from_the_new_json(tmp_path, monkeypatch):
    path = tmp_path / "sampler.json"
    sampler = make("controller", seed=2)
    drive(sampler, 2)
    sampler.save(path)
    drive(sampler, 2)
    monkeypatch.setattr(WeightsFiles, "remove_unnamed", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        sampler.save(path)
    monkeypatch.undo()
    resumed = load_sampler(path)
    assert resumed.updates == 2 and resumed.probabilities() == sampler.probabilities()
    assert drive(resumed, 3) == drive(sampler, 3)
    resumed.save(path)  # update 3 written, the leftovers of the killed run go
    assert weights_files(tmp_path) == ["sampler.json.weights-3.pt"]


def test_controller_loads_a_save_from_before_weights_files(tmp_path):
    sampler = make("controller", seed=6)
    drive(sampler, 3)
    left = sampler.ask()
    sampler.save(tmp_path / "new.json")
    old_style = json.loads((tmp_path / "new.json").read_text())
    state = sampler.state_dict()
    state["generator"] = _to_plain(sampler.generator.get_state())  # as the JSON-only format wrote it
    old_style["state"] = state
    (tmp_path / "old.json").write_text(json.dumps(old_style))
    restored = load_sampler(tmp_path / "old.json")
    assert restored.pending() == [left] and restored.probabilities() == sampler.probabilities()
    for twin in (sampler, restored):
        twin.tell(left.token, outcome_for(left.choices))
    assert drive(restored, 4) == drive(sampler, 4)


@pytest.mark.parametrize("name, stock", [("tpe", optuna.samplers.TPESampler), ("nsga2", optuna.samplers.NSGAIISampler)])
def test_known_search_space_asks_what_optunas_own_scan_asks(name, stock, monkeypatch):
    def parallel_run(sampler):
        asked, pending = [], []
        for step in range(24):  # two asks in flight, out-of-order tells, a failure and a pruned trial
            pending.append(sampler.ask())
            asked.append(pending[-1].choices)
            if len(pending) == 2:
                suggestion = pending.pop(step % 2)
                outcome = (Outcome("failed") if step == 7 else Outcome("pruned", 0.3, {"params": 1e5}) if step == 9
                           else outcome_for(suggestion.choices[::-1]))
                sampler.tell(suggestion.token, outcome)
        return asked, [t.state for t in sampler.study.trials]

    # Decisions out of name order: Optuna orders the space by name, and so must the known space.
    decisions = list(reversed(DECISIONS))
    options = {**FAST_OPTIONS[name], "seed": 11}
    fast = parallel_run(make_sampler(name, decisions, **options))
    module = "nas.samplers.tpe.KnownSpaceTPESampler" if name == "tpe" else "nas.samplers.nsga2.KnownSpaceNSGAIISampler"
    monkeypatch.setattr(module, lambda space, **options: stock(**options))
    plain = parallel_run(make_sampler(name, decisions, **options))
    assert fast == plain
    assert TrialState.PRUNED in fast[1] and TrialState.FAIL in fast[1]


@pytest.mark.parametrize("name", ["tpe", "nsga2"])
def test_sqlite_study_in_wal_mode_resumes_with_pending(name, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    sampler = make(name, seed=5, storage=url, study_name="search")
    drive(sampler, 6)
    left = sampler.ask()
    journal = sampler.study._storage._backend.engine.connect().exec_driver_sql("PRAGMA journal_mode").scalar()
    assert journal == "wal"
    del sampler
    resumed = make(name, seed=5, storage=url, study_name="search")
    uninterrupted = make(name, seed=5)
    drive(uninterrupted, 6)
    assert uninterrupted.ask() == left and resumed.pending() == [left]
    with pytest.raises(ValueError, match="not pending"):
        resumed.tell(-1, outcome_for(left.choices))
    with pytest.raises(ValueError, match="not pending"):
        resumed.tell(left.token + 1, outcome_for(left.choices))
    for twin in (resumed, uninterrupted):
        twin.tell(left.token, outcome_for(left.choices))
    assert drive(resumed, 3) == drive(uninterrupted, 3)
