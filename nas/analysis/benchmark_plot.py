"""Plot of a tabular benchmark: test accuracy of the picked cell against the number of cells evaluated."""

from __future__ import annotations

from pathlib import Path

from nas.atomic_files import atomic_path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_search_curves(summaries: Sequence, path: str | Path, *, optimum: float, title: str) -> None:
    """Mean over runs per sampler with a ±1 standard-error band (the spread of single runs, in the CSV, would hide
    the differences between means); the optimum as a dashed line. Written atomically."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for summary in summaries:
        curves = summary.curves
        evaluations = np.arange(1, curves.shape[1] + 1)
        mean = np.nanmean(curves, axis=0)
        error = np.nanstd(curves, axis=0) / np.sqrt(curves.shape[0])
        axes.plot(evaluations, mean, label=f"{summary.sampler} ({mean[-1]:.2f})")
        axes.fill_between(evaluations, mean - error, mean + error, alpha=0.2)
    axes.axhline(optimum, color="black", linestyle="--", linewidth=1, label=f"optimum {optimum:.2f}")
    low = min(np.nanmean(s.curves, axis=0)[min(9, s.curves.shape[1] - 1)] for s in summaries)
    axes.set_ylim(max(low - 0.5, 80.0), optimum + 0.3)
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
