"""The cheap per-trial paths ask what the plain ones did, and a killed search still resumes exactly.

The controller saves its weights to a binary file beside the JSON only after a learning update; the Optuna
samplers are told their search space instead of scanning the study for it, and their SQLite study runs in WAL
mode. None of that may change a single ask.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import optuna
import pytest
import sqlalchemy
import torch
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

import nas.samplers.base as sampler_base
from nas.errors import ConfigError
from nas.samplers import Outcome, load_sampler, make_sampler
from nas.samplers.controller import _to_plain
from nas.samplers.study_database import FAILED_BECAUSE
from nas.samplers.weights_files import WeightsFiles
from nas.space.decisions import Decision
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
    monkeypatch.setattr(module, lambda space, finished_rows=None, **options: stock(**options))
    plain = parallel_run(make_sampler(name, decisions, **options))
    assert fast == plain
    assert TrialState.PRUNED in fast[1] and TrialState.FAIL in fast[1]


@pytest.mark.parametrize("name", ["tpe", "nsga2"])
def test_sqlite_study_in_wal_mode_resumes_with_pending(name, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    sampler = make(name, seed=5, storage=url, study_name="search")
    drive(sampler, 6)
    left = sampler.ask()
    with sqlalchemy.create_engine(url).connect() as connection:  # WAL mode is a property of the file
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
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


# --- the Optuna study in SQLite: each trial written whole, a half-written one never trusted ---------------------------

OPTUNA_SAMPLERS = ["tpe", "nsga2", "random"]


def sqlite_url(tmp_path, name="optuna.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def open_study(name, url, seed=5, study_name="search"):
    return make(name, seed=seed, storage=url, study_name=study_name)


def stored_trials(url, study_name="search"):
    """The study's trials as the database holds them, read through a storage of our own."""
    storage = optuna.storages.RDBStorage(url)
    return storage.get_all_trials(storage.get_study_id_from_name(study_name))


@contextlib.contextmanager
def write_transactions(engine=sqlalchemy.engine.Engine):
    """Count the transactions (on every engine) that wrote something: reads commit too, and write nothing."""
    counted, wrote = [], [False]

    def before_execute(connection, cursor, statement, *_):
        wrote[0] = wrote[0] or statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))

    def on_commit(connection):
        if wrote[0]:
            counted.append(1)
        wrote[0] = False

    sqlalchemy.event.listen(engine, "before_cursor_execute", before_execute)
    sqlalchemy.event.listen(engine, "commit", on_commit)
    try:
        yield counted
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", before_execute)
        sqlalchemy.event.remove(engine, "commit", on_commit)


def write_torn_trials(url: str) -> tuple[int, int]:
    """What a search killed inside Optuna's own `study.ask` left: RUNNING trials with parameters missing (written
    one by one through the storage API, as Optuna does), or naming a decision the space does not have."""
    storage = optuna.storages.RDBStorage(url)
    study_id = storage.get_study_id_from_name("search")
    first = storage.create_new_trial(study_id)
    decision = DECISIONS[1]
    storage.set_trial_param(first, decision.name, 2, CategoricalDistribution(list(decision.choices)))
    second = storage.create_new_trial(study_id)
    storage.set_trial_param(second, "normal.b9.op_z", 0, CategoricalDistribution(["conv_7x7"]))
    storage.engine.dispose()
    return first, second


@pytest.mark.parametrize("name", OPTUNA_SAMPLERS)
def test_a_torn_trial_in_the_database_is_failed_on_resume_and_the_search_asks_anew(name, tmp_path):
    url = sqlite_url(tmp_path)
    sampler = open_study(name, url)
    drive(sampler, 4)
    left = sampler.ask()
    del sampler
    torn = write_torn_trials(url)

    resumed = open_study(name, url)
    assert resumed.pending() == [left]  # before: KeyError 'normal.b0.input_a' on every resume
    stored = optuna.storages.RDBStorage(url)
    for trial_id, problem in zip(torn, ("no value for: normal.b0.input_a", "no such decision: normal.b9.op_z")):
        trial = stored.get_trial(trial_id)
        assert trial.state == TrialState.FAIL and problem in trial.system_attrs[FAILED_BECAUSE]
    assert [t.state for t in resumed.study.trials[5:]] == [TrialState.FAIL, TrialState.FAIL]
    resumed.tell(left.token, outcome_for(left.choices))
    asked = [resumed.ask() for _ in range(3)]
    assert [s.token for s in asked] == [7, 8, 9]
    for suggestion in asked:
        resumed.tell(suggestion.token, outcome_for(suggestion.choices))
    del resumed
    again = open_study(name, url)  # the failed trials stay failed and out of the way
    assert again.pending() == [] and len(again.study.trials) == 10
    assert [again.ask().token for _ in range(2)] == [10, 11]


@pytest.mark.parametrize("name", OPTUNA_SAMPLERS)
def test_an_ask_writes_its_trial_in_one_transaction(name, tmp_path, monkeypatch):
    sampler = open_study(name, sqlite_url(tmp_path))
    drive(sampler, 2)
    # Optuna's own ask stores each parameter in a transaction of its own: a kill between two left a torn trial.
    def killed(*_):
        raise RuntimeError("killed between two parameters of a trial")

    for method in ("set_trial_param", "_set_trial_param"):
        monkeypatch.setattr(optuna.storages.RDBStorage, method, killed)
    with write_transactions() as asked:
        suggestion = sampler.ask()
    assert len(asked) == 1
    with write_transactions() as told:
        sampler.tell(suggestion.token, outcome_for(suggestion.choices))
    assert len(told) == 1  # the costs, the state and the values
    stored = stored_trials(sqlite_url(tmp_path))[-1]
    assert stored.params == sampler.study.trials[-1].params and len(stored.params) == len(DECISIONS)
    assert stored.state == TrialState.COMPLETE and stored.user_attrs["costs"]


def run_search(name, url, restarts=(), steps=14):
    """Ask and tell as a search with two workers does (a failure and a pruned trial among them), opening the
    sampler again from the database before each step in `restarts`, as a killed and resumed search does."""
    sampler = open_study(name, url, seed=9) if url else make(name, seed=9)
    asked, pending = [], []
    for step in range(steps):
        if step in restarts:
            sampler = open_study(name, url, seed=9)
            assert sampler.pending() == pending
        pending.append(sampler.ask())
        asked.append(pending[-1].choices)
        if len(pending) == 2:
            suggestion = pending.pop(step % 2)
            outcome = (Outcome("failed") if step == 5 else Outcome("pruned", 0.3, {"params": 1e5}) if step == 7
                       else outcome_for(suggestion.choices))
            sampler.tell(suggestion.token, outcome)
    return asked, sampler


@pytest.mark.parametrize("name", OPTUNA_SAMPLERS)
def test_a_resumed_study_asks_what_an_uninterrupted_one_asks(name, tmp_path):
    # Another study first in the database, so its trial ids are not the trial numbers the in-memory study uses.
    drive(open_study(name, sqlite_url(tmp_path, "resumed.db"), study_name="other"), 3)
    uninterrupted, reference = run_search(name, sqlite_url(tmp_path, "uninterrupted.db"))
    resumed, sampler = run_search(name, sqlite_url(tmp_path, "resumed.db"), restarts={3, 5, 8, 9, 11, 12})
    assert resumed == uninterrupted == run_search(name, None)[0]
    assert [t.params for t in sampler.study.trials] == [t.params for t in reference.study.trials]
    assert study_system_attrs(sampler) == study_system_attrs(reference)  # in trial numbers, in memory
    if name == "nsga2":  # population 4: generations 0, 1 and 2, each parent population cached in the study
        generations = {t.system_attrs["KnownSpaceNSGAIISampler:generation"] for t in sampler.study.trials}
        assert generations == {0, 1, 2}
        assert_parent_cache_names_database_ids(sampler, sqlite_url(tmp_path, "resumed.db"))


def study_system_attrs(sampler) -> dict:
    return sampler.study._storage.get_study_system_attrs(sampler.study._study_id)


def assert_parent_cache_names_database_ids(sampler, url):
    """The database lists parents by its own trial ids (as Optuna's sampler writes them), the memory by number."""
    in_memory = study_system_attrs(sampler)
    storage = optuna.storages.RDBStorage(url)
    stored = storage.get_study_system_attrs(storage.get_study_id_from_name("search"))
    number_of = {t._trial_id: t.number for t in stored_trials(url)}
    caches = [key for key in stored if key.startswith("KnownSpaceNSGAIISampler:parent:")]
    assert len(caches) == 2
    assert any(trial_id not in number_of.values() for key in caches for trial_id in stored[key])  # ids, not numbers
    assert {key: [number_of[i] for i in stored[key]] for key in caches} == {key: in_memory[key] for key in caches}


def test_another_process_adding_trials_is_detected(tmp_path):
    first, second = open_study("tpe", sqlite_url(tmp_path)), open_study("tpe", sqlite_url(tmp_path))
    first.ask()
    with pytest.raises(ConfigError, match="gained trials from elsewhere"):
        second.ask()
    with pytest.raises(ConfigError, match="build the sampler again"):
        second.ask()
    assert [t.state for t in stored_trials(sqlite_url(tmp_path))] == [TrialState.RUNNING, TrialState.FAIL]
    assert open_study("tpe", sqlite_url(tmp_path)).pending() == first.pending()


def test_a_study_made_over_another_space_is_refused(tmp_path):
    other_space = [Decision(d.name, d.choices[:2]) if d.name.endswith("op_a") else d for d in DECISIONS]
    drive(make_sampler("tpe", other_space, storage=sqlite_url(tmp_path), study_name="search"), 2)
    with pytest.raises(ConfigError, match="another search space: decision 'normal.b0.op_a'"):
        open_study("tpe", sqlite_url(tmp_path))


def test_an_ask_interrupted_in_memory_leaves_no_pending_trial(tmp_path, monkeypatch):
    for url in (None, sqlite_url(tmp_path)):
        sampler = make("random", storage=url, study_name=url and "search")
        drive(sampler, 2)
        real = optuna.samplers.RandomSampler.sample_independent
        calls = []

        def interrupted(*args):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt  # Ctrl-C in a notebook, between two parameters
            return real(*args)

        monkeypatch.setattr(optuna.samplers.RandomSampler, "sample_independent", interrupted)
        with pytest.raises(KeyboardInterrupt):
            sampler.ask()
        monkeypatch.undo()
        assert sampler.pending() == [] and sampler.study.trials[-1].state == TrialState.FAIL
        if url is None:
            assert sampler.ask().token == 3
        else:  # the database never got trial 2: this sampler may not write on, a fresh one may
            with pytest.raises(ConfigError, match="build the sampler again"):
                sampler.ask()
            assert open_study("random", url).ask().token == 2


@pytest.mark.parametrize("name", ["tpe", "nsga2"])
def test_the_one_transaction_writes_store_what_optunas_public_calls_store(name, tmp_path):
    # The adapter writes Optuna's tables itself (Optuna's calls commit once per parameter or attribute): same rows.
    url = sqlite_url(tmp_path)
    sampler = open_study(name, url)
    drive(sampler, 5)  # TPE's relative parameters and NSGA-II's generation ride in system attributes
    suggestion = sampler.ask()
    token = suggestion.token
    asked = sampler.study.trials[token]
    storage = optuna.storages.RDBStorage(url)
    twin = storage.create_new_trial(storage.get_study_id_from_name("search"), template_trial=asked)
    ours, optunas = stored_trials(url)[-2:]
    assert asked.system_attrs and (ours.number, optunas.number) == (5, 6)
    fields = ("state", "params", "distributions", "user_attrs", "system_attrs", "values", "intermediate_values")
    for field in (*fields, "datetime_start"):
        assert getattr(ours, field) == getattr(optunas, field) == getattr(asked, field), field

    outcome = Outcome("pruned", 0.4, {"params": 2e5}) if name == "tpe" else outcome_for(suggestion.choices)
    sampler.tell(token, outcome)
    told = sampler.study.trials[token]
    for key, value in told.user_attrs.items():  # the costs, as one JSON attribute and as numbers
        storage.set_trial_user_attr(twin, key, value)
    for step, value in told.intermediate_values.items():
        storage.set_trial_intermediate_value(twin, step, value)
    storage.set_trial_state_values(twin, told.state, told.values)
    ours, optunas = stored_trials(url)[-2:]
    assert told.state == (TrialState.PRUNED if name == "tpe" else TrialState.COMPLETE)
    for field in (*fields, "datetime_complete"):
        assert getattr(ours, field) == getattr(told, field), field
        assert field == "datetime_complete" or getattr(optunas, field) == getattr(told, field), field


def test_a_save_that_would_write_the_same_file_again_is_skipped(tmp_path, monkeypatch):
    # An Optuna sampler's JSON names its study and nothing else: rewriting it after every ask and tell cost two
    # disk syncs per candidate for nothing.
    path = tmp_path / "sampler.json"
    sampler = open_study("tpe", sqlite_url(tmp_path))
    written = []
    real = sampler_base.write_json_atomically
    monkeypatch.setattr(sampler_base, "write_json_atomically", lambda *args: (written.append(1), real(*args)))
    for _ in range(3):
        suggestion = sampler.ask()
        sampler.save(path)
        sampler.tell(suggestion.token, outcome_for(suggestion.choices))
        sampler.save(path)
    assert len(written) == 1
    path.unlink()  # gone, or replaced by another writer: written again
    sampler.save(path)
    path.write_text(path.read_text().replace("search", "other"))
    sampler.save(path)
    assert len(written) == 3 and load_sampler(path).study.study_name == "search"
    evolution = make("evolution")  # its JSON changes with every ask and tell
    for _ in range(2):
        evolution.ask()
        evolution.save(path)
    assert len(written) == 5
