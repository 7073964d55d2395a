"""The report's pictures, each written as PNG and SVG: search progress, accuracy against cost with the Pareto
front, the ops of the best cells against the whole search, and cells against baselines."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text: searchable, and editable for a paper
import pandas as pd  # noqa: E402

from nas.analysis.experiment_results import SearchResults  # noqa: E402
from nas.analysis.published_table import published_on, published_result  # noqa: E402
from nas.atomic_files import atomic_path  # noqa: E402
from nas.data.data_facts import DataFacts  # noqa: E402
from nas.plural import count_of  # noqa: E402
from nas.run_status import Status  # noqa: E402
from nas.space.genotype import Genotype  # noqa: E402

# Where a point's label may go, in points from it, in the order tried: right, left, above and below, further out.
LABEL_PLACES = [(6, 6), (-6, 6), (6, -7), (-6, -7), (6, 16), (-6, 16), (6, -17), (-6, -17), (6, 27), (-6, 27),
                (6, -28), (-6, -28)]
MARKER_PIXELS = 5  # half the size of a point's marker, as drawn at the figures' dpi
LOG_AXIS_RATIO = 20  # a comparison whose networks differ more than this in size gets a log parameter axis
COST_LABELS = {"params": "parameters (millions)", "macs": "multiply-adds (millions)"}
# The narrowest accuracy range a picture shows, as a share of 100%: a y-axis from 10.00 to 10.30% would make
# noise between candidates look like a ranking.
MIN_ACCURACY_SPAN = 0.05
MARKERS = "ovs^D<>p*h"


def save_figure(figure, stem: Path) -> list[Path]:
    """`stem`.png and `stem`.svg, each written atomically."""
    written = []
    try:
        for suffix in (".png", ".svg"):
            path = stem.with_suffix(suffix)
            with atomic_path(path) as temporary:
                figure.savefig(temporary, dpi=120, bbox_inches="tight")  # legends and labels outside the axes
            written.append(path)
    finally:
        plt.close(figure)
    return written


def legend_outside(axes) -> None:
    """The legend right of the axes, where it hides no point; none when nothing is labelled."""
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def readable_accuracy_axis(axes, classes: int | None, scale: float = 1.0) -> None:
    """Chance level (1/classes) as a dashed line, and a y-range at least MIN_ACCURACY_SPAN wide (centred on the
    data, kept within 0..100%). `scale` is 100 for axes in percent."""
    low, high = axes.get_ylim()
    if classes:
        chance = scale / classes
        axes.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance (1/{classes})")
        margin = 0.02 * scale  # the line clear of the axes' frame
        low, high = min(low, max(0.0, chance - margin)), max(high, chance + margin)
    span = MIN_ACCURACY_SPAN * scale
    if high - low < span:
        low = min(max(0.0, (low + high - span) / 2), scale - span)
        high = low + span
    # matplotlib's own margin was a share of the data's range; widened down to chance level it is nothing, and
    # the best point (the one a reader looks for) sat cut in half on the frame
    axes.set_ylim(low, high + 0.04 * (high - low))


def search_classes(searches: Sequence[SearchResults]) -> int | None:
    """The searches' number of classes, when they all recorded the same one (chance level is then one line)."""
    classes = {search.saved.data_facts.classes if search.saved else None for search in searches}
    return classes.pop() if len(classes) == 1 else None


def best_so_far(search: SearchResults) -> pd.DataFrame:
    """Trials in the order they finished, with the best validation accuracy reached so far."""
    trials = search.trials.sort_values("elapsed_s").reset_index(drop=True)
    trials["best"] = trials["val_acc"].where(trials["status"] == Status.OK).cummax()
    trials["trial"] = range(1, len(trials) + 1)
    return trials


PROGRESS_LINE_STYLES = ["-", "--", ":", "-."]


def plot_progress(searches: Sequence[SearchResults], stem: Path) -> list[Path]:
    figure, (by_trial, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    # Searches that share their first (random) trials draw the same steps: a dash per search and a thinner line
    # on top keep each one visible where they coincide.
    for order, (search, dashes) in enumerate(zip(searches, PROGRESS_LINE_STYLES * len(searches))):
        curve = best_so_far(search)
        style = dict(where="post", label=f"{search.name} ({search.sampler})", linestyle=dashes,
                     linewidth=2.6 - 0.5 * (order % 4))
        by_trial.step(curve["trial"], curve["best"], **style)
        by_time.step(curve["elapsed_s"] / 60, curve["best"], **style)
    by_trial.set_xlabel("trials finished")
    by_time.set_xlabel("wall time (minutes)")
    by_trial.set_ylabel("best validation accuracy so far")
    for axes in (by_trial, by_time):
        axes.grid(alpha=0.3)
        readable_accuracy_axis(axes, search_classes(searches))
    legend_outside(by_time)
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


def identical_series(searches: Sequence[SearchResults], cost: str) -> dict[str, str]:
    """For each search whose points are exactly an earlier search's, that earlier search's name."""
    seen, same = {}, {}
    for search in searches:
        points = tuple(sorted(zip(search.finished[cost].fillna(-1), search.finished["val_acc"])))
        if points in seen:
            same[search.name] = seen[points]
        seen.setdefault(points, search.name)
    return same


def plot_accuracy_against_cost(searches: Sequence[SearchResults], cost: str, stem: Path) -> list[Path]:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    same = identical_series(searches, cost)
    for index, search in enumerate(searches):
        finished = search.finished.dropna(subset=[cost])
        # markers (and sizes) tell apart searches that found the same cells: the later one is drawn hollow on top
        label = search.name + (f" (same points as {same[search.name]})" if search.name in same else "")
        points = axes.scatter(finished[cost] / 1e6, finished["val_acc"], s=22 + 14 * index, alpha=0.6,
                              marker=MARKERS[index % len(MARKERS)], label=label,
                              facecolors="none" if search.name in same else None,
                              edgecolors=f"C{index}", color=f"C{index}")
        front = pareto_front(finished, cost)
        axes.plot(front[cost] / 1e6, front["val_acc"], color=points.get_edgecolor()[0], linewidth=1.5,
                  drawstyle="steps-post")
    axes.set_xlabel(COST_LABELS[cost])
    axes.set_ylabel("validation accuracy (proxy training)")
    axes.set_title(f"Accuracy against {cost}: the line is each search's Pareto front")
    axes.grid(alpha=0.3)
    readable_accuracy_axis(axes, search_classes(searches))
    legend_outside(axes)
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
    axes.barh([p + 0.2 for p in positions], share_all, height=0.4,
              label=f"all {count_of(len(finished), 'trained cell')}")
    axes.barh([p - 0.2 for p in positions], share_top, height=0.4,
              label=f"top {count_of(min(top, len(finished)), 'cell')}")
    axes.set_yticks(list(positions), ops)
    axes.invert_yaxis()
    axes.set_xlabel("share of the cells' edges")
    axes.set_title(f"Ops in {search.name}: best cells against the whole search")
    legend_outside(axes)
    axes.grid(alpha=0.3, axis="x")
    figure.tight_layout()
    return save_figure(figure, stem)


def plot_comparison(summary: pd.DataFrame, title: str, stem: Path, data_facts: DataFacts = DataFacts()) -> list[Path]:
    """Test accuracy against parameters, found cells and baselines in one picture: mean with a ± std bar over two
    or more seeds, the mean alone over one; the published numbers of the same networks (hollow) where the data is
    the papers' (CIFAR-10, 10 classes)."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    labels = []  # (text, x, y, colour) of every point
    for kind, marker, label in (("cell", "o", "cells"), ("baseline", "s", "baselines")):
        rows = summary[summary["kind"] == kind]
        if rows.empty:  # no empty series in the legend
            continue
        spread = (rows["seeds"] >= 2) & rows["test_acc_std"].notna()
        errors = (100 * rows["test_acc_std"]).where(spread, 0.0)
        axes.errorbar(rows["params"] / 1e6, 100 * rows["test_acc_mean"], yerr=errors, fmt=marker, capsize=3,
                      label=label + ("" if spread.all() else " (no bar: one seed, n=1)"))
        labels += [(name, params / 1e6, 100 * mean, "black")
                   for name, params, mean in zip(rows["name"], rows["params"], rows["test_acc_mean"])]
    if published_on(data_facts.dataset, data_facts.classes):
        labels += _plot_published(axes, summary)
    # Small proxies (tens of thousands of parameters) beside published networks (millions) crowd into one corner
    # on a linear axis; a log axis gives each its place.
    sizes = [x for _, x, _, _ in labels if x > 0]
    log_x = bool(sizes) and max(sizes) / min(sizes) > LOG_AXIS_RATIO
    if log_x:
        axes.set_xscale("log")
    axes.set_xlabel(COST_LABELS["params"] + (", log scale" if log_x else ""))
    axes.set_ylabel("test accuracy (%), mean ± std over seeds")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    readable_accuracy_axis(axes, data_facts.classes, scale=100.0)
    legend_outside(axes)
    figure.tight_layout()
    label_points(axes, labels)  # last: it measures the labels where the final layout draws them
    return save_figure(figure, stem)


def _plot_published(axes, summary: pd.DataFrame) -> list[tuple]:
    """The published numbers of the comparison's networks, as hollow diamonds; their labels."""
    published = [(name, published_result(name, kind)) for name, kind in zip(summary["name"], summary["kind"])]
    published = [(name, row["params_m"], 100 - row["test_error"]) for name, row in published if row]
    if published:
        axes.scatter([x for _, x, _ in published], [y for *_, y in published], marker="D", facecolors="none",
                     edgecolors="black", label="published (papers' full training)")
    return [(f"{name} (published)", x, y, "dimgrey") for name, x, y in published]


def label_points(axes, labels: list[tuple]) -> None:
    """Each point's name beside it, where it overlaps no other label and stays inside the axes: to the right of
    the point, else to its left, a little above, then below, then further out; the highest points first. A label
    that finds no free place is drawn at the first place tried rather than left out."""
    renderer = axes.figure.canvas.get_renderer()
    inside = axes.get_window_extent(renderer)
    # Every point's marker is taken too: a label over another point reads as that point's.
    taken = [Bbox.from_bounds(px - MARKER_PIXELS, py - MARKER_PIXELS, 2 * MARKER_PIXELS, 2 * MARKER_PIXELS)
             for px, py in axes.transData.transform([(x, y) for _, x, y, _ in labels])]
    for text, x, y, colour in sorted(labels, key=lambda label: -label[2]):
        for dx, dy in LABEL_PLACES:
            label = axes.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=8,
                                  color=colour, ha="left" if dx > 0 else "right", va="center")
            box = label.get_window_extent(renderer)
            if (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
                    and not any(box.overlaps(other) for other in taken)):
                break
            label.remove()
        else:  # crowded everywhere: the first place, overlaps and all, rather than no name
            label = axes.annotate(text, (x, y), textcoords="offset points", xytext=LABEL_PLACES[0], fontsize=8,
                                  color=colour, ha="left", va="center")
            box = label.get_window_extent(renderer)
        taken.append(box)
