"""What optuna-dashboard reads from a search's study: each epoch's validation accuracy as an intermediate value
(its learning curves), and params and MACs as numeric user attributes (sortable), checked with plain Optuna."""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from nas.cli import main

from nas.samplers import Outcome, SearchContext, make_sampler, sampler_class
from nas.search.trial_report import TrialReport
from nas.search.trial_store import TrialStore
from nas.search.tune_searcher import SamplerSearcher
from nas.space import load_space
from search_fixtures import REPOSITORY, write_config
from tests.test_samplers import DECISIONS


def _study_trial(url: str, number: int, study_name: str = "search") -> optuna.trial.FrozenTrial:
    return optuna.load_study(study_name=study_name, storage=url).trials[number]


def test_a_study_holds_each_epochs_accuracy_and_numeric_costs(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    sampler = make_sampler("tpe", DECISIONS, seed=1, storage=url, study_name="search")
    first, second = sampler.ask(), sampler.ask()
    sampler.report_epoch(first.token, 1, 0.31)  # as the search passes epochs on while the candidate trains
    assert _study_trial(url, 0).intermediate_values == {1: 0.31}
    sampler.tell(first.token, Outcome("ok", 0.52, {"params": 1.5e5, "macs": 2.5e7}, curve=(0.31, 0.44, 0.52)))
    sampler.tell(second.token, Outcome("pruned", 0.2, {"params": 9e4}, curve=(0.2,)))  # no epoch seen before

    complete, pruned = _study_trial(url, 0), _study_trial(url, 1)
    assert complete.state == TrialState.COMPLETE and complete.intermediate_values == {1: 0.31, 2: 0.44, 3: 0.52}
    assert complete.user_attrs["params"] == 1.5e5 and complete.user_attrs["macs"] == 2.5e7
    assert isinstance(complete.user_attrs["params"], float)
    assert pruned.state == TrialState.PRUNED and pruned.intermediate_values == {1: 0.2}
    assert pruned.user_attrs["params"] == 9e4 and "macs" not in pruned.user_attrs


def test_the_searcher_passes_each_epoch_to_the_study_while_the_candidate_trains(tmp_path):
    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    options = sampler_class("tpe").options_for_search({}, SearchContext("test", tmp_path), resume=False)
    sampler = make_sampler("tpe", space.decisions, seed=3, **options)
    searcher = SamplerSearcher(sampler=sampler, space=space, store=TrialStore(tmp_path),
                               sampler_path=tmp_path / "s.json", budget=1, rerun=[])
    searcher.suggest("trial-a")
    for epoch, val_acc in enumerate((0.25, 0.4), start=1):
        searcher.on_trial_result("trial-a", TrialReport(val_acc=val_acc, epoch=epoch).to_metrics())
    assert _study_trial(options["storage"], 0, "test").intermediate_values == {1: 0.25, 2: 0.4}
    final = TrialReport(val_acc=0.45, epoch=3, val_acc_per_epoch=[0.25, 0.4, 0.45], params=1000, macs=5000,
                        final=True, status="ok")
    searcher.on_trial_complete("trial-a", final.to_metrics())
    trial = _study_trial(options["storage"], 0, "test")
    assert trial.intermediate_values == {1: 0.25, 2: 0.4, 3: 0.45} and trial.value == 0.45
    assert (trial.user_attrs["params"], trial.user_attrs["macs"]) == (1000.0, 5000.0)


@pytest.mark.slow  # a real search on a local Ray
@pytest.mark.usefixtures("ray_session")
def test_a_real_search_leaves_learning_curves_and_costs_in_its_study(tmp_path, image_folder):
    results = tmp_path / "results"
    config = write_config(tmp_path / "c.yaml", image_folder, results, sampler="tpe", trials=2,
                          recipe_overrides={"epochs": 2})
    assert main(["search", "--config", str(config)]) == 0
    rows = pd.read_csv(results / "test" / "trials.csv").set_index("token")
    for trial in optuna.load_study(study_name="test", storage=f"sqlite:///{results / 'test' / 'optuna.db'}").trials:
        row = rows.loc[trial.number]
        assert list(trial.intermediate_values) == [1, 2]
        assert list(trial.intermediate_values.values()) == pytest.approx(json.loads(row["val_acc_per_epoch"]), abs=1e-6)
        assert (trial.user_attrs["params"], trial.user_attrs["macs"]) == (row["params"], row["macs"])
