"""The report's views of how a search ran and what it found, as users of Optuna's dashboard, NNI and Ray Tune
expect them: learning curves, which decisions mattered, trials on their workers, whether the proxy ranks
cells as their full trainings do, and (a search a zero-cost proxy guided) whether that proxy ranked them as their
training did. Each is computed only from what the runs recorded, and says so when a run
recorded too little."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from nas.analysis import decision_importance as importance
from nas.analysis.experiment_results import Campaign, SearchResults
from nas.analysis.learning_curves import HIGHLIGHTED, asha_rungs, curves, epoch_table, plot_learning_curves
from nas.analysis.proxy_transfer_link import describe_rank_agreement, linked_cells
from nas.analysis.report_document import Section, pngs
from nas.analysis.search_proxy_ranking import proxy_ranking_sections
from nas.analysis.trial_timeline import describe_cost, lane_usage, plot_timeline, trial_intervals, workers_of
from nas.plural import count_of
from nas.search.search_costs import combined, cost_line, cost_table, costs_by_run
from nas.search.search_timing import read_runs

IMPORTANCE_ROWS = 10


def search_view_sections(search: SearchResults, out: Path) -> list[Section]:
    return [learning_curves_section(search, out), importance_section(search, out), timeline_section(search, out),
            worker_time_section(search), *proxy_ranking_sections(search, out)]


def learning_curves_section(search: SearchResults, out: Path) -> Section:
    title = f"Search {search.name}: learning curves"
    recorded = curves(search)
    if recorded.empty:
        return Section(title, ["no trial recorded its accuracy per epoch"])
    rungs = asha_rungs(search)
    early = (search.saved.config.get("early_stopping") or {}) if search.saved else {}
    notes = [f"validation accuracy after each epoch of {len(recorded)} trials; the {HIGHLIGHTED} best finished "
             f"trials in colour; x: a trial stopped early (status pruned)",
             f"ASHA rungs after epoch(s) {', '.join(map(str, rungs))} (grace_period {early['grace_period']}, "
             f"reduction_factor {early['reduction_factor']})" if rungs else "no ASHA recorded: no rungs drawn"]
    return Section(title, notes, epoch_table(recorded), f"{search.name}-epochs",
                   pngs(plot_learning_curves(search, recorded, out / f"{search.name}-curves")))


def importance_section(search: SearchResults, out: Path) -> Section:
    title = f"Search {search.name}: which decisions mattered"
    values = importance.decision_values(search)
    if values is None:
        return Section(title, ["the search's decisions are not recorded (no space_decisions in experiment.yaml)"])
    if len(values.val_acc) < importance.MIN_FINISHED:
        return Section(title, [f"only {len(values.val_acc)} finished trial(s) with their decisions: too few for an "
                               f"importance (needs {importance.MIN_FINISHED})"])
    if values.val_acc.nunique() < 2:  # fANOVA raises on zero variance; PED-ANOVA would print equal shares
        return Section(title, [f"all {len(values.val_acc)} finished trials reached the same accuracy: no decision "
                               f"made a difference to rank"])
    ranked = importance.importances(values)
    rows = []
    for name in ranked.index[:IMPORTANCE_ROWS]:
        means = values.val_acc.groupby(values.choices[name]).agg(["mean", "size"])
        best = means["mean"].idxmax()
        rows.append({"decision": name, "importance": round(ranked[name], 3), "best choice": best,
                     "its mean val_acc": round(means.loc[best, "mean"], 4), "its trials": int(means.loc[best, "size"])})
    notes = [f"{importance.evaluator_name()} importance (Optuna) of the {len(ranked)} decisions for validation "
             f"accuracy, over {len(values.val_acc)} finished trials; importances sum to 1",
             "best choice: the choice with the highest mean accuracy among the trials that made it"]
    if len(values.val_acc) < len(ranked):
        notes.append(f"fewer trials ({len(values.val_acc)}) than decisions ({len(ranked)}): most choices were "
                     f"made by one or two trials, so read this as a hint, not a finding")
    return Section(title, notes, pd.DataFrame(rows), f"{search.name}-importance",
                   pngs(importance.plot_slices(values, ranked, f"{search.name}: accuracy by choice of the most "
                                                               f"important decisions", out / f"{search.name}-slices")))


def timeline_section(search: SearchResults, out: Path) -> Section:
    title = f"Search {search.name}: trials on workers"
    intervals = trial_intervals(search.trials)
    if intervals.empty:
        return Section(title, ["no trial recorded when it finished"])
    notes = ["each trial from its start in the worker to its end (tables older than started_at: its finish less "
             "training and set-up time, to its finish); no worker id is "
             "recorded, so each node's trials are put on the first lane free when they started",
             describe_cost(search, intervals)]
    return Section(title, notes, lane_usage(intervals), f"{search.name}-lanes",
                   pngs(plot_timeline(intervals, f"Trials of {search.name} on their lanes",
                                      out / f"{search.name}-timeline")))


def worker_time_section(search: SearchResults) -> Section:
    """Where the workers' time went over all the search's runs (nas.search.search_costs): the line the search
    printed when it ended, and the table of parts."""
    title = f"Search {search.name}: where the worker time went"
    by_run = costs_by_run(search.trials, read_runs(search.folder), workers_of(search))
    if not by_run:
        return Section(title, ["no trial recorded when it ran"])
    costs = combined([costs for _, costs in by_run])
    runs = f"over {count_of(len(by_run), 'run')}, each counted from its first trial's start to its last one's end; " \
        if len(by_run) > 1 else ""
    notes = [cost_line(costs), f"{runs}per candidate: the median over the latest run's trials (between trials: "
             f"the mean)", *costs.missing]
    return Section(title, notes, cost_table(costs), f"{search.name}-worker-time")


def proxy_link_section(searches: Sequence[SearchResults], campaigns: Sequence[Campaign]) -> list[Section]:
    """One section when there are both searches and campaigns; none otherwise."""
    if not searches or not campaigns:
        return []
    table = linked_cells(searches, campaigns)
    titles = [campaign.title for campaign in campaigns]
    notes = ["cells linked by canonical hash: proxy = the search's validation accuracy (mean over its trials of "
             "the cell); the other columns: test accuracy, mean over seeds"]
    if table.empty:
        return [Section("Proxy accuracy against final accuracy",
                        notes + ["no cell of these searches was trained again by these transfers or comparisons"])]
    return [Section("Proxy accuracy against final accuracy", notes + describe_rank_agreement(table, titles), table,
                    "proxy-vs-final")]

