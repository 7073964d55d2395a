"""The report's views of how a search ran: learning curves with ASHA's rungs, decision importance, trials on their
workers with utilisation and cost, and proxy against final accuracy by canonical hash."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import yaml

from nas.analysis.experiment_results import load_campaign, load_search
from nas.analysis.decision_importance import decision_values
from nas.analysis.learning_curves import asha_rungs, curves, epoch_table
from nas.analysis.proxy_transfer_link import cell_hash, kendall_tau_b, linked_cells
from nas.analysis.report_views import importance_section, proxy_link_section, timeline_section, worker_time_section
from nas.analysis.trial_timeline import describe_cost, lane_usage, trial_intervals
from nas.cli import main
from nas.evaluation.campaign_folder import CampaignPaths
from nas.evaluation.campaign_summary import write_summary
from nas.evaluation.jobs import JobRecord, JobTable
from nas.search.experiment_folder import space_fingerprint
from nas.search.search_timing import SearchTiming
from nas.search.trial_store import TrialRecord, TrialStore
from nas.space import load_space
from nas.space.genotype import Block, Cell, Genotype
from search_fixtures import REPOSITORY

SPACE = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def write_search(folder, trials, *, asha=False, epochs=4, cpus=1, gpus=0):
    """A search folder with experiment.yaml (resources, ASHA, the tiny space's decisions) and the given trials:
    dicts of TrialRecord fields over defaults; `choices` decide the genotype and hash."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"name": folder.name, "space": str(REPOSITORY / "search_spaces" / "tiny.yaml"), "sampler": "random",
              "data": {"subset": 100}, "resources": {"workers": 2, "cpus_per_trial": cpus, "gpus_per_trial": gpus},
              "early_stopping": {"asha": asha, "grace_period": 1, "reduction_factor": 2}}
    (folder / "experiment.yaml").write_text(yaml.safe_dump({
        "config": config, "recipe": {"epochs": epochs, "channels": 4, "cells": 3},
        "space_decisions": space_fingerprint(SPACE)}))
    store = TrialStore(folder)
    for number, fields in enumerate(trials):
        choices = fields.pop("choices", SPACE.sample(number))
        genotype = SPACE.decode(choices)
        store.append(TrialRecord(**{"trial_id": f"t{number}", "token": number, "sampler": "random",
                                    "genotype": str(genotype), "hash": genotype.hash(), "choices": list(choices),
                                    "status": "ok", "val_acc": 0.5, "train_time_s": 10.0,
                                    "finished_at": (START + timedelta(minutes=number + 1)).isoformat(), **fields}))
    return folder


def test_kendall_tau_b_of_known_rankings():
    assert kendall_tau_b([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau_b([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau_b([1, 2, 3, 4, 5], [3, 4, 1, 2, 5]) == pytest.approx(0.2)  # 6 concordant, 4 discordant
    assert kendall_tau_b([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(0.8)  # scipy.stats.kendalltau's tau-b
    assert math.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))


def finished_at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def test_lanes_utilisation_and_cost_of_a_known_schedule(tmp_path):
    """Node a runs [0,100] then [100,200] on one lane and [50,150] beside them; node b runs [0,50]. The wall time
    is 200 s; set-up time counts as the trial's."""
    schedule = [("a", 0, 100), ("a", 100, 200), ("a", 50, 150), ("b", 0, 50)]
    folder = write_search(tmp_path / "timed", [
        {"node": node, "setup_s": 5.0, "train_time_s": end - start - 5.0, "finished_at": finished_at(end)}
        for node, start, end in schedule], cpus=2, gpus=0.5)
    search = load_search(folder)
    intervals = trial_intervals(search.trials)
    assert list(intervals.sort_values("trial_id")["lane"]) == [0, 0, 1, 0]
    usage = lane_usage(intervals).set_index(["node", "lane"])
    assert usage.loc[("a", 1), "busy_s"] == 200 and usage.loc[("a", 1), "utilisation"] == 1.0
    assert usage.loc[("a", 2), "idle_s"] == 100 and usage.loc[("a", 2), "utilisation"] == 0.5
    assert usage.loc[("b", 1), "utilisation"] == 0.25
    cost = describe_cost(search, intervals)  # 350 trial-seconds; 3 lanes held 200 s; 2 CPUs and half a GPU each
    assert "CPU-hours: 0.19 in trials, 0.33 held" in cost and "GPU-hours: 0.05 in trials, 0.08 held" in cost


def test_timeline_of_an_old_search_without_nodes_or_set_up_times(tmp_path):
    """Trials recorded before `node` and `setup_s` existed: one lane per overlap, on a node 'not recorded'."""
    folder = write_search(tmp_path / "old", [{"finished_at": finished_at(end)} for end in (10, 15, 20)])
    table = pd.read_csv(folder / "trials.csv").drop(columns=["node", "setup_s", "step_s"])
    table.to_csv(folder / "trials.csv", index=False)
    (folder / "trials.parquet").unlink(missing_ok=True)
    section = timeline_section(load_search(folder), tmp_path)
    assert list(section.table["node"]) == ["node not recorded"] * 2 and list(section.table["trials"]) == [2, 1]


def test_worker_time_section_of_a_recorded_search_and_of_an_old_one(tmp_path):
    """Two workers; trials started 5 s after the command, one for 30 s and one for 20 s: 60 worker-seconds."""
    timed = [{"started_at": at(5), "worker_s": 30.0, "setup_s": 1.0, "step_s": 24.0, "eval_s": 3.0,
              "train_time_s": 28.0, "finished_at": finished_at(35)},
             {"started_at": at(5), "worker_s": 20.0, "setup_s": 1.0, "step_s": 12.0, "eval_s": 2.0,
              "train_time_s": 18.0, "finished_at": finished_at(25)}]
    folder = write_search(tmp_path / "timed", timed)
    SearchTiming(START.timestamp(), workers=2).keep_in(folder)
    section = worker_time_section(load_search(folder))
    assert section.notes[0].startswith("worker time: 60 s on 2 workers; training steps 60%, evaluation 8%, "
                                       "set-up 3%, rest of the trials 12%, between trials and idle 17%; first "
                                       "trial started 5.0 s after the command")
    table = section.table.set_index("part")
    assert table.loc["training steps", "seconds"] == 36 and table.loc["between trials and idle", "seconds"] == 10
    assert table.loc["set-up", "per candidate (median)"] == 1
    assert len(section.notes) == 2  # the line and how per candidate is counted: nothing missing

    old = write_search(tmp_path / "old", [{"setup_s": 1.0, "step_s": 8.0, "finished_at": finished_at(end)}
                                          for end in (10, 20)])
    section = worker_time_section(load_search(old))  # no eval_s, started_at, worker_s, search_timing.json
    assert section.table.set_index("part").loc["evaluation", "seconds"] == "not recorded"
    assert "the driver's start: not recorded (no search_timing.json)" in section.notes
    assert "after the command" not in section.notes[0]


def test_importance_refuses_too_few_finished_trials(tmp_path):
    folder = write_search(tmp_path / "few", [{"val_acc": 0.1 * n} for n in range(7)] + [{"status": "failed",
                                                                                          "val_acc": None}])
    section = importance_section(load_search(folder), tmp_path)
    assert "only 7 finished trial(s)" in section.notes[0] and section.table is None and not section.pictures


def test_importance_of_trials_that_all_reached_the_same_accuracy_says_so(tmp_path):
    section = importance_section(load_search(write_search(tmp_path / "flat", [{"val_acc": 0.5}] * 9)), tmp_path)
    assert "all 9 finished trials reached the same accuracy" in section.notes[0] and section.table is None


def test_importance_ranks_first_the_decision_that_decides_accuracy(tmp_path):
    rng = np.random.default_rng(0)
    trials = []
    for number in range(40):
        choices = SPACE.sample(number)
        op = SPACE.decode(choices).normal.blocks[1].op_a  # decision normal.b1.op_a
        trials.append({"choices": choices, "val_acc": (0.8 if op == "sep_conv_3x3" else 0.3) + rng.normal(0, 0.01)})
    search = load_search(write_search(tmp_path / "many", trials))
    section = importance_section(search, tmp_path)
    assert section.table["decision"].iloc[0] == "normal.b1.op_a"
    assert section.table["best choice"].iloc[0] == "sep_conv_3x3" and section.table["importance"].iloc[0] > 0.3
    assert [picture.name for picture in section.pictures] == ["many-slices.png"]
    assert "normal.b1.op_a" in (tmp_path / "many-slices.svg").read_text()


def test_importance_encodes_the_genotypes_of_trials_that_recorded_no_choices(tmp_path):
    folder = write_search(tmp_path / "unrecorded", [{"val_acc": 0.1 * n} for n in range(3)])
    store = TrialStore(folder)
    store.replace_all([replace(record, choices=[]) for record in store.records])
    values = decision_values(load_search(folder))
    expected = [SPACE.sample(number) for number in range(3)]
    assert values.choices.shape == (3, len(SPACE.decisions))
    assert [[SPACE.decisions[i].choices.index(label) for i, label in enumerate(row)]
            for row in values.choices.itertuples(index=False)] == [list(vector) for vector in expected]


def test_learning_curves_mark_pruned_trials_and_asha_rungs(tmp_path):
    folder = write_search(tmp_path / "asha", [
        {"val_acc": 0.6, "val_acc_per_epoch": [0.3, 0.4, 0.5, 0.6]},
        {"val_acc": 0.2, "val_acc_per_epoch": [0.1, 0.2], "status": "pruned"},
        {"val_acc": 0.1, "val_acc_per_epoch": [0.1], "status": "pruned"},
        {"val_acc": None, "status": "failed"}], asha=True, epochs=4)
    search = load_search(folder)
    assert asha_rungs(search) == [1, 2, 4]  # grace_period 1, reduction_factor 2, 4 epochs
    table = epoch_table(curves(search))
    assert list(table["trials"]) == [3, 2, 1, 1] and list(table["best_val_acc"]) == [0.3, 0.4, 0.5, 0.6]
    assert list(table["median_val_acc"])[:2] == [0.1, 0.3]
    out = tmp_path / "report"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    picture = (out / "asha-curves.svg").read_text()
    assert "rung 2" in picture and "stopped by ASHA (pruned)" in picture and "t0: 0.600" in picture
    assert "ASHA rungs after epoch(s) 1, 2, 4" in (out / "report.md").read_text()


COSTS = {"params": 1000, "macs": 10_000, "train_time_s": 1.0, "images_per_sec": 10.0}


def write_campaign(folder, title, cells, *, hash_column=False):
    """A comparison's folder: `cells` are (genotype text, [test accuracy per seed]); a baseline beside them."""
    table = JobTable(folder)
    for number, (genotype, accuracies) in enumerate(cells):
        for seed, accuracy in enumerate(accuracies):
            table.append(JobRecord(f"cell{number}-seed{seed}", f"cell{number}", "cell", seed, "ok", test_acc=accuracy,
                                   model=genotype, **COSTS))
    table.append(JobRecord("resnet20-seed0", "resnet20", "baseline", 0, "ok", test_acc=0.9, model="resnet20",
                           **COSTS))
    write_summary(table, CampaignPaths(folder), title, [])
    (folder / "campaign.yaml").write_text(yaml.safe_dump({"title": title, "recipe": {}}))
    if hash_column:  # as runs.csv files written after the `hash` column was added
        runs = pd.read_csv(folder / "runs.csv", dtype=str, keep_default_na=False)
        runs["hash"] = [cell_hash(model) for model in runs["model"]]
        runs["model"] = "recorded elsewhere"
        runs.to_csv(folder / "runs.csv", index=False)
        (folder / "runs.parquet").unlink(missing_ok=True)
    return load_campaign(folder)


def with_branches_swapped(text: str) -> str:
    genotype = Genotype.parse(text)
    blocks = tuple(Block(b.input_b, b.op_b, b.input_a, b.op_a, b.combine) for b in genotype.normal.blocks)
    return str(replace(genotype, normal=Cell(blocks, genotype.normal.concat)))


def test_proxy_and_final_accuracy_linked_by_canonical_hash(tmp_path):
    proxies = [0.5, 0.4, 0.3, 0.2]
    search = load_search(write_search(tmp_path / "s", [{"val_acc": value} for value in proxies]))
    genotypes = list(search.trials["genotype"])
    swapped = with_branches_swapped(genotypes[2])  # the same cell written otherwise: linked by its canonical hash
    assert swapped != genotypes[2]
    # Final ranking of cells 0..3: 0.90, 0.70, 0.80, 0.60 -> tau = (5 - 1) / 6.
    compare = write_campaign(tmp_path / "compare" / "c", "Comparison c", [
        (genotypes[0], [0.89, 0.91]), (genotypes[1], [0.7]), (swapped, [0.8]), (genotypes[3], [0.6])])
    transfer = write_campaign(tmp_path / "s" / "transfer" / "t", "Transfer t",
                              [(genotypes[0], [0.5]), (genotypes[1], [0.4])], hash_column=True)
    table = linked_cells([search], [compare, transfer])
    assert list(table["proxy val_acc"]) == proxies and list(table["Comparison c"]) == [0.9, 0.7, 0.8, 0.6]
    assert list(table["Transfer t"].iloc[:2]) == [0.5, 0.4] and table["Transfer t"].iloc[2:].isna().all()
    notes = proxy_link_section([search], [compare, transfer])[0].notes
    assert ("Comparison c: Kendall's tau-b between proxy and final accuracy 0.67 over 4 cells (6 pairs: one pair in "
            "the other order moves it by 0.33)") in notes
    assert "Transfer t: 2 cells linked to the search, too few for a rank correlation (needs 3)" in notes


def test_the_report_holds_every_view(tmp_path):
    rng = np.random.default_rng(1)
    folder = write_search(tmp_path / "full", [
        {"val_acc": value, "val_acc_per_epoch": [value / 2, value], "node": "10.0.0.1"} for value in
        rng.uniform(0.2, 0.6, 10)])
    out = tmp_path / "report"
    assert main(["report", str(folder), "--out", str(out), "--format", "csv"]) == 0
    for table in ("full-epochs", "full-importance", "full-lanes", "full-worker-time"):
        assert len(pd.read_csv(out / f"{table}.csv")), table
    for picture in ("full-curves", "full-slices", "full-timeline"):
        assert (out / f"{picture}.png").is_file() and (out / f"{picture}.svg").is_file(), picture
