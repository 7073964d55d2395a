"""The report's pictures, each written as PNG and SVG: search progress, accuracy against cost with the Pareto
front, the ops of the best cells against the whole search, and cells against baselines."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text: searchable, and editable for a paper
import pandas as pd  # noqa: E402

from nas.analysis.experiment_results import SearchResults  # noqa: E402
from nas.atomic_files import atomic_path  # noqa: E402
from nas.run_status import Status  # noqa: E402
from nas.space.genotype import Genotype  # noqa: E402

COST_LABELS = {"params": "parameters (millions)", "macs": "multiply-adds (millions)"}


def save_figure(figure, stem: Path) -> list[Path]:
    """`stem`.png and `stem`.svg, each written atomically."""
    written = []
    try:
        for suffix in (".png", ".svg"):
            path = stem.with_suffix(suffix)
            with atomic_path(path) as temporary:
                figure.savefig(temporary, dpi=120)
            written.append(path)
    finally:
        plt.close(figure)
    return written


def best_so_far(search: SearchResults) -> pd.DataFrame:
    """Trials in the order they finished, with the best validation accuracy reached so far."""
    trials = search.trials.sort_values("elapsed_s").reset_index(drop=True)
    trials["best"] = trials["val_acc"].where(trials["status"] == Status.OK).cummax()
    trials["trial"] = range(1, len(trials) + 1)
    return trials


def plot_progress(searches: Sequence[SearchResults], stem: Path) -> list[Path]:
    figure, (by_trial, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for search in searches:
        curve = best_so_far(search)
        label = f"{search.name} ({search.sampler})"
        by_trial.step(curve["trial"], curve["best"], where="post", label=label)
        by_time.step(curve["elapsed_s"] / 60, curve["best"], where="post", label=label)
    by_trial.set_xlabel("trials finished")
    by_time.set_xlabel("wall time (minutes)")
    by_trial.set_ylabel("best validation accuracy so far")
    for axes in (by_trial, by_time):
        axes.grid(alpha=0.3)
    by_time.legend(loc="lower right", fontsize=8)
    figure.suptitle("Search progress")
    figure.tight_layout()
    return save_figure(figure, stem)


def pareto_front(frame: pd.DataFrame, cost: str) -> pd.DataFrame:
    """Rows no other row beats on both accuracy (higher) and cost (lower), cheapest first."""
    ordered = frame.sort_values([cost, "val_acc"], ascending=[True, False])
    front, best = [], -1.0
    for index, row in ordered.iterrows():
        if row["val_acc"] > best:
            front.append(index)
            best = row["val_acc"]
    return frame.loc[front].sort_values(cost)


def plot_accuracy_against_cost(searches: Sequence[SearchResults], cost: str, stem: Path) -> list[Path]:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for search, marker in zip(searches, "ovs^D<>p*h" * 10):  # markers tell apart searches that found the same cells
        finished = search.finished.dropna(subset=[cost])
        points = axes.scatter(finished[cost] / 1e6, finished["val_acc"], s=22, alpha=0.6, marker=marker,
                              label=search.name)
        front = pareto_front(finished, cost)
        axes.plot(front[cost] / 1e6, front["val_acc"], color=points.get_facecolor()[0], linewidth=1.5,
                  drawstyle="steps-post")
    axes.set_xlabel(COST_LABELS[cost])
    axes.set_ylabel("validation accuracy (proxy training)")
    axes.set_title(f"Accuracy against {cost}: the line is each search's Pareto front")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return save_figure(figure, stem)


def op_counts(genotypes: Sequence[str]) -> Counter:
    counts: Counter = Counter()
    for text in genotypes:
        genotype = Genotype.parse(text)
        for cell in (genotype.normal, genotype.reduce):
            for block in cell.blocks:
                counts.update((block.op_a, block.op_b))
    return counts


def plot_op_distribution(search: SearchResults, top: int, stem: Path) -> list[Path]:
    """Share of each op among the edges of the best cells (the `top` best, at most a quarter of the search, so the
    two bars can differ) against all trained cells."""
    finished = search.finished.sort_values("val_acc", ascending=False)
    top = max(1, min(top, len(finished) // 4))
    everything, best = op_counts(finished["genotype"]), op_counts(finished["genotype"].head(top))
    ops = sorted(everything, key=lambda op: -everything[op])
    share_all = [everything[op] / sum(everything.values()) for op in ops]
    share_top = [best[op] / max(sum(best.values()), 1) for op in ops]
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(ops) + 1.5))
    positions = range(len(ops))
    axes.barh([p + 0.2 for p in positions], share_all, height=0.4, label=f"all {len(finished)} trained cells")
    axes.barh([p - 0.2 for p in positions], share_top, height=0.4, label=f"top {min(top, len(finished))} cells")
    axes.set_yticks(list(positions), ops)
    axes.invert_yaxis()
    axes.set_xlabel("share of the cells' edges")
    axes.set_title(f"Ops in {search.name}: best cells against the whole search")
    axes.legend(fontsize=8, loc="lower right")
    axes.grid(alpha=0.3, axis="x")
    figure.tight_layout()
    return save_figure(figure, stem)


def plot_comparison(summary: pd.DataFrame, title: str, stem: Path) -> list[Path]:
    """Test accuracy (mean ± std over seeds) against parameters: found cells and baselines in one picture."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for kind, marker in (("cell", "o"), ("baseline", "s")):
        rows = summary[summary["kind"] == kind]
        axes.errorbar(rows["params"] / 1e6, 100 * rows["test_acc_mean"], yerr=100 * rows["test_acc_std"],
                      fmt=marker, capsize=3, label={"cell": "found / published cells", "baseline": "baselines"}[kind])
        for row in rows.itertuples():
            axes.annotate(row.name, (row.params / 1e6, 100 * row.test_acc_mean), textcoords="offset points",
                          xytext=(5, 4), fontsize=8)
    axes.set_xlabel(COST_LABELS["params"])
    axes.set_ylabel("test accuracy (%), mean ± std over seeds")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return save_figure(figure, stem)
