"""Plot of a tabular benchmark: test accuracy of the picked cell against the number of cells evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from nas.atomic_files import atomic_path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


# The first few picks are near-random and spread over tens of points; the axis starts where the curves settle.
SETTLED_AFTER = 10


def _mean_and_error(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.nanmean(curves, axis=0), np.nanstd(curves, axis=0) / np.sqrt(curves.shape[0])


def accuracy_axis_limits(summaries: Sequence, optimum: float) -> tuple[float, float]:
    """y-limits that follow the data on any dataset (CIFAR-10 ~94 %, ImageNet16-120 ~47 %): from the lowest
    mean - error band after SETTLED_AFTER evaluations to the optimum, with a margin of 5 % of that span."""
    lows, highs = [optimum], [optimum]
    for summary in summaries:
        mean, error = _mean_and_error(summary.curves)
        settled = slice(min(SETTLED_AFTER, len(mean)) - 1, None)
        lows.append(np.nanmin((mean - error)[settled]))
        highs.append(np.nanmax((mean + error)[settled]))
    low, high = float(min(lows)), float(max(highs))
    margin = max(0.05 * (high - low), 0.2)
    return low - margin, high + margin


def plot_search_curves(
    summaries: Sequence, path: str | Path, *, optimum: float, title: str
) -> tuple[float, float]:
    """Mean over runs per sampler with a ±1 standard-error band (the spread of single runs, in the CSV, would hide
    the differences between means); the optimum as a dashed line. Written atomically; returns the y-limits."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for summary in summaries:
        curves = summary.curves
        evaluations = np.arange(1, curves.shape[1] + 1)
        mean, error = _mean_and_error(curves)
        axes.plot(evaluations, mean, label=f"{summary.sampler} ({mean[-1]:.2f})")
        axes.fill_between(evaluations, mean - error, mean + error, alpha=0.2)
    axes.axhline(optimum, color="black", linestyle="--", linewidth=1, label=f"optimum {optimum:.2f}")
    limits = accuracy_axis_limits(summaries, optimum)
    axes.set_ylim(*limits)
    axes.set_xlabel("distinct cells evaluated")
    axes.set_ylabel("test accuracy of picked cell (%), mean ± s.e.")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=120)
    finally:
        plt.close(figure)
    return limits
