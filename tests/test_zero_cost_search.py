"""Searches guided by a zero-cost proxy (the config's `zero_cost:`): the config section, scoring a candidate as its
trial builds it, the proxy columns of trials.csv, the searcher's pickling with the wrapper, what scoring cost, the
report's proxy-against-accuracy view, and a real search on CIFAR-10 with warm start and screening."""

from __future__ import annotations

import math
import os

import pandas as pd
import pytest
import torch
import yaml

from nas.analysis.experiment_results import load_search
from nas.analysis.search_proxy_ranking import proxy_ranking_sections
from nas.cli import main
from nas.cluster.proxy_scoring import ProxyScoringSettings, score_genotypes
from nas.samplers import make_sampler
from nas.samplers.proxy_guided import DEFAULT_VOTE_MEMBERS, ProxyGuidance, ProxyGuidedSampler
from nas.search.experiment_config import config_from_dict
from nas.search.experiment_folder import ExperimentPaths, SavedExperiment
from nas.search.proxy_scoring_summary import ProxyScoringSummary
from nas.search.trial_store import TrialRecord, TrialStore
from nas.search.tune_searcher import SamplerSearcher
from nas.space import load_space
from nas.train.recipe import load_recipe
from search_fixtures import REPOSITORY, fake_experiment, write_config

TINY = REPOSITORY / "search_spaces" / "tiny.yaml"

pytestmark = pytest.mark.usefixtures("ray_session")  # conftest: Ray shut down when the module ends


# --- the config -------------------------------------------------------------------------------------------------------

def test_zero_cost_section_maps_onto_the_guidance_and_round_trips_through_experiment_yaml():
    config = config_from_dict({"zero_cost": {"proxy": "synflow", "warm_start_pool": 50, "screen": 4,
                                             "batch_size": 32}})
    assert config.zero_cost.guidance == ProxyGuidance("synflow", warm_start_pool=50, screen=4)
    assert config.zero_cost.proxies == ("synflow",) and config.zero_cost.batch_size == 32
    saved = yaml.safe_load(yaml.safe_dump(config.to_dict()))  # as experiment.yaml stores it
    assert config_from_dict(saved) == config
    assert SavedExperiment(config=saved, recipe={}).zero_cost == config.zero_cost


def test_without_zero_cost_nothing_is_guided_and_old_experiment_files_read_as_no_proxy():
    assert config_from_dict({}).zero_cost is None and config_from_dict({}).to_dict()["zero_cost"] is None
    assert SavedExperiment(config={"sampler": "tpe"}, recipe={}).zero_cost is None  # written before proxies


def test_an_experiment_file_from_before_proxies_resumes_without_one_but_not_with_one():
    from dataclasses import asdict

    from nas.errors import ConfigError
    from nas.search.experiment_folder import check_resume_matches, space_fingerprint

    space, recipe = load_space(TINY), load_recipe("proxy")
    config = config_from_dict({"name": "old"})
    before_proxies = {key: value for key, value in config.to_dict().items() if key != "zero_cost"}
    saved = SavedExperiment(config=before_proxies, recipe=asdict(recipe), space_decisions=space_fingerprint(space))
    check_resume_matches(saved, config, space, recipe)
    with pytest.raises(ConfigError, match="cannot resume 'old' with zero_cost = .*it was started with None"):
        check_resume_matches(saved, config.replace(zero_cost=config_from_dict({"zero_cost": {}}).zero_cost), space,
                             recipe)


# --- scoring a candidate as its trial builds it -----------------------------------------------------------------------

def scoring_settings(proxies=("naswot", "synflow")) -> ProxyScoringSettings:
    recipe = load_recipe("proxy", {"channels": 4, "cells": 3, "epochs": 1})
    return ProxyScoringSettings(proxies=proxies, recipe=recipe.to_dict(), stack="cifar", seed=0, num_classes=3,
                                in_channels=3, image_size=16)


def test_the_scorer_gives_the_same_scores_twice_and_nan_with_a_reason_for_a_network_it_cannot_build():
    space = load_space(TINY)
    cells = [str(space.decode(space.sample(seed))) for seed in range(2)]
    inputs, targets = torch.randn(8, 3, 16, 16), torch.arange(8) % 3
    first = score_genotypes([*cells, "not a genotype"], scoring_settings(), inputs, targets)
    again = score_genotypes(cells, scoring_settings(), inputs, targets)
    assert [scores.values for scores in first[:2]] == [scores.values for scores in again]
    assert all(math.isfinite(value) and value > 0 for scores in first[:2] for value in scores.values.values())
    assert first[0].values != first[1].values and first[0].reason == ""
    assert all(math.isnan(value) for value in first[2].values.values())
    assert "GenotypeError" in first[2].reason


# --- the searcher with a proxy, without Ray ---------------------------------------------------------------------------

class SumOfChoices:
    """A scorer without torch or Ray: the sum of a cell's choices (picklable, as the search's Ray scorer is)."""

    reasons: dict = {}

    def __call__(self, candidates):
        return [{"params": float(sum(choices))} for choices in candidates]


def test_the_searcher_records_the_proxy_and_a_pickled_copy_rebuilds_the_wrapper(tmp_path):
    from ray import cloudpickle

    space = load_space(TINY)
    store = TrialStore(tmp_path)
    searcher = SamplerSearcher(sampler=make_sampler("random", space.decisions, seed=0), space=space, store=store,
                               sampler_path=tmp_path / "s.json", budget=4, rerun=[],
                               guide=ProxyGuide(ProxyGuidance("params", screen=3), space))
    first = searcher.suggest("trial-a")
    assert searcher.guided.counts.screened_out == 2  # 3 drawn, the best by proxy kept
    searcher.on_trial_complete("trial-a", {"val_acc": 0.5, "final": True, "status": "ok"})
    row = TrialStore(tmp_path).records[0]
    assert row.proxy == "params" and row.proxy_score == sum(row.choices)
    assert row.proxy_values == {"params": row.proxy_score} and row.proxy_reason == ""
    copy = cloudpickle.loads(cloudpickle.dumps(searcher))
    assert isinstance(copy.sampler, ProxyGuidedSampler) and copy.sampler is not searcher.sampler
    assert copy.suggest("trial-b")["token"] > first["token"]


class ProxyGuide:
    """Picklable like nas.search.proxy_guide.ProxyGuide, with the torch-free scorer."""

    def __init__(self, guidance, space):
        self.guidance, self.space = guidance, space

    def __call__(self, sampler):
        return ProxyGuidedSampler(sampler, self.guidance, SumOfChoices(), sample=self.space.sample, seed=0)


def test_a_trials_table_written_before_proxies_loads_with_them_not_recorded(tmp_path):
    fake_experiment(tmp_path, [(0.5, 1000), (0.6, 2000)])
    frame = pd.read_csv(tmp_path / "trials.csv", dtype=str, keep_default_na=False)
    old = frame.drop(columns=["proxy", "proxy_score", "proxy_values", "proxy_reason"])
    (tmp_path / "trials.csv").write_text(old.to_csv(index=False))
    records = TrialStore(tmp_path).records
    assert [(r.proxy, r.proxy_score, r.proxy_values, r.proxy_reason) for r in records] == [("", None, {}, "")] * 2
    assert proxy_ranking_sections(load_search(tmp_path), tmp_path) == []  # nothing shown without a proxy
    assert ProxyScoringSummary.read(tmp_path) is None


def test_scoring_costs_add_up_over_the_runs_of_a_search(tmp_path):
    space = load_space(TINY)
    guided = ProxyGuidedSampler(make_sampler("random", space.decisions, seed=0),
                                ProxyGuidance("params", warm_start_pool=5, warm_start_count=2, screen=2),
                                SumOfChoices(), sample=space.sample)
    for _ in range(3):  # the 2 warm-start cells, then 1 screened: 2 drawn, 1 of them trained
        guided.ask()
    first = ProxyScoringSummary().plus_run(guided, search_s=10.0)
    first.write(tmp_path)
    both = ProxyScoringSummary.read(tmp_path).plus_run(guided, search_s=10.0)
    assert first.warm_started == 2 and first.screened_out == 1 and first.scored >= 5
    assert both.scored == 2 * first.scored and both.search_s == 20.0
    assert "1 screened out, 2 warm-started" in first.line() and "of the search's wall time" in first.line()


# --- the report -------------------------------------------------------------------------------------------------------

def guided_experiment(folder, accuracies):
    """A finished search's folder whose trials recorded a vote of two proxies, both ranking as the accuracy does."""
    fake_experiment(folder, [(accuracy, 1000) for accuracy in accuracies])
    store = TrialStore(folder)
    records = [TrialRecord(**{**record.__dict__, "proxy": "vote", "proxy_score": 0.5,
                              "proxy_values": {"naswot": accuracy * 10, "synflow": accuracy ** 2}})
               for record, accuracy in zip(store.records, accuracies)]
    store.replace_all(records)
    ExperimentPaths(folder).config.write_text(yaml.safe_dump({"config": config_from_dict(
        {"zero_cost": {"vote_members": ["naswot", "synflow"]}}).to_dict(), "recipe": {}}))
    return load_search(folder)


def test_the_report_shows_each_candidates_proxy_beside_its_accuracy_and_their_rank_correlation(tmp_path):
    search = guided_experiment(tmp_path / "s", [0.5, 0.7, 0.6, 0.4])
    [section] = proxy_ranking_sections(search, tmp_path)
    assert list(section.table["val_acc"]) == [0.7, 0.6, 0.5, 0.4]
    assert list(section.table.columns[2:]) == ["proxy (vote)", "naswot", "synflow"]
    assert list(section.table["proxy (vote)"]) == [1.0, 0.75, 0.5, 0.25]  # taken again over the trained ones
    assert "over 4 candidates: Spearman's rho 1.00, Kendall's tau-b 1.00" in section.notes[0]
    assert section.notes[1] == "time spent scoring: not recorded" and section.pictures


def test_the_report_says_when_too_few_candidates_stand_behind_a_correlation(tmp_path):
    [section] = proxy_ranking_sections(guided_experiment(tmp_path / "s", [0.5, 0.7]), tmp_path)
    assert "not enough candidates for a rank correlation (needs 3)" in section.notes[0]


# --- a real search --------------------------------------------------------------------------------------------------

@pytest.mark.slow  # a real search on a local Ray, then its resume and report: 56 s on the busy 2-core VM
@pytest.mark.skipif(not os.environ.get("NAS_CIFAR10_DIR"), reason="NAS_CIFAR10_DIR is not set")
def test_a_real_search_with_warm_start_and_screening_on_cifar10(tmp_path, capsys):
    results = tmp_path / "results"
    zero_cost = {"proxy": "vote", "warm_start_pool": 6, "warm_start_count": 2, "screen": 3, "batch_size": 16}
    config = write_config(tmp_path / "c.yaml", os.environ["NAS_CIFAR10_DIR"], results, name="zc", trials=4,
                          zero_cost=zero_cost,
                          data={"dataset": "cifar10", "subset": 200, "val_size": 40,
                                "cache_dir": os.environ.get("NAS_CACHE_DIR") or str(tmp_path / "cache")},
                          recipe_overrides={"epochs": 1, "batch_size": 32, "channels": 4, "cells": 2})
    assert main(["search", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    folder = results / "zc"
    trials = pd.read_csv(folder / "trials.csv", keep_default_na=False)
    assert len(trials) == 4 and set(trials["proxy"]) == {"vote"}
    values = [yaml.safe_load(text) for text in trials["proxy_values"]]
    assert all(set(row) == set(DEFAULT_VOTE_MEMBERS) for row in values)
    assert pd.to_numeric(trials["proxy_score"]).notna().all()
    summary = ProxyScoringSummary.read(folder)
    assert summary.warm_started == 2 and summary.screened_out == 2 * 2  # trials 3 and 4: 3 drawn each, 2 not trained
    assert summary.scored >= 6 and summary.scoring_s > 0 and summary.search_s > summary.scoring_s
    assert "warm start: scored 6 cells with vote" in out and "zero-cost proxy: scored" in out
    warm = [record.choices for record in TrialStore(folder).records if record.token in (0, 1)]
    assert len(warm) == 2  # the warm start's cells were asked first: tokens 0 and 1, the sampler's first asks
    assert yaml.safe_load((folder / "experiment.yaml").read_text())["config"]["zero_cost"]["screen"] == 3

    # A resume trains the rest without a second warm start, and adds its scoring to the summary.
    assert main(["search", "--config", str(config), "--resume", "--trials", "5"]) == 0
    out = capsys.readouterr().out
    assert "warm start" not in out
    again = ProxyScoringSummary.read(folder)
    assert again.warm_started == 2 and again.screened_out == summary.screened_out + 2
    assert len(pd.read_csv(folder / "trials.csv")) == 5
    # ... and with another zero_cost section is refused, naming it.
    changed = write_config(tmp_path / "d.yaml", os.environ["NAS_CIFAR10_DIR"], results, name="zc",
                           zero_cost={**zero_cost, "screen": 2})
    assert main(["search", "--config", str(changed), "--resume"]) == 2
    assert "cannot resume 'zc' with zero_cost" in capsys.readouterr().err

    assert main(["report", str(folder), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "zero-cost proxy against trained accuracy" in report and "proxy (vote)" in report


def test_the_time_budget_counts_from_the_search_start_so_a_warm_start_uses_it_up(tmp_path, monkeypatch):
    import time

    from nas.search import tune_run

    def no_tune_run(*args, **kwargs):
        raise AssertionError("a Tune run started after the budget was spent")

    monkeypatch.setattr(tune_run, "tune_trainable", lambda *args: None)
    monkeypatch.setattr(tune_run, "_tune_run", no_tune_run)
    config = config_from_dict({"time_budget_s": 30})
    paths = ExperimentPaths(tmp_path)
    ended = tune_run.run_trials(config, None, paths, None, None, 4, started=time.monotonic() - 31)  # a 31 s warm start
    assert not ended.interrupted
