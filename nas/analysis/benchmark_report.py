"""Tables of a tabular benchmark: ours beside the published numbers, as markdown for terminals and docs."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from nas.atomic_files import atomic_path

from nas.analysis.published_results import NASBENCH201_CIFAR10, NASBENCH201_SOURCE


def summary_frame(summaries: Sequence) -> pd.DataFrame:
    return pd.DataFrame([summary.row() for summary in summaries])


def curves_frame(summaries: Sequence) -> pd.DataFrame:
    """Mean and std over runs of the picked cell's test accuracy after each evaluation, per sampler."""
    frames = []
    for summary in summaries:
        curves = summary.curves
        frames.append(
            pd.DataFrame(
                {
                    "sampler": summary.sampler,
                    "evaluations": range(1, curves.shape[1] + 1),
                    "test_mean": curves.mean(axis=0),
                    "test_std": curves.std(axis=0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def markdown_table(summaries: Sequence, *, with_published: bool = True) -> str:
    """One row per sampler: picked cell's test accuracy and regret (mean ± std), best-so-far at a few budgets."""
    checkpoints = summaries[0].checkpoints
    header = ["sampler", "runs", "test acc (%)", "regret (%)", *[f"@{c}" for c in checkpoints], "asks/run", "time (s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for summary in summaries:
        row = summary.row()
        cells = [
            summary.sampler,
            str(row["runs"]),
            f"{row['test_mean']:.2f} ± {row['test_std']:.2f}",
            f"{row['regret_mean']:.2f} ± {row['regret_std']:.2f}",
            *[f"{row[f'test_at_{c}']:.2f}" for c in checkpoints],
            f"{row['asks_mean']:.0f}",
            f"{row['seconds']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if with_published:
        blank = [""] * len(checkpoints)
        for method, (mean, std) in NASBENCH201_CIFAR10.items():
            optimum = summaries[0].optimum
            cells = [f"{method} (published)", "500", f"{mean:.2f} ± {std:.2f}", f"{optimum - mean:.2f}", *blank, "", ""]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(f"Published rows: {NASBENCH201_SOURCE}.")
    return "\n".join(lines)


def write_csv_atomically(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False, float_format="%.4f")
