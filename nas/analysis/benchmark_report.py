"""Tables of a tabular benchmark: ours beside the published numbers, as markdown for terminals and docs."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from nas.analysis.published_results import PublishedSearchResult
from nas.atomic_files import atomic_path

# How papers write the NAS-Bench-201 datasets; other names are printed as given.
DATASET_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "ImageNet16-120": "ImageNet16-120"}


def dataset_title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


def sampler_results_frame(summaries: Sequence, *, table: str | Path, table_sha256: str, dataset: str) -> pd.DataFrame:
    """One row per sampler, led by the table and dataset it was measured on (so a CSV is never orphaned): the
    table by file name and SHA-256 checksum, which say which table it was on any machine (a path says where it lay
    on one)."""
    frame = pd.DataFrame([summary.row() for summary in summaries])
    frame.insert(0, "dataset", dataset)
    frame.insert(0, "table_sha256", table_sha256)
    frame.insert(0, "table", Path(table).name)
    return frame


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


def sampler_results_markdown(summaries: Sequence, published: Sequence[PublishedSearchResult] = ()) -> str:
    """One row per sampler: picked cell's test accuracy and regret (mean ± std), best-so-far at a few budgets;
    then the `published` rows (their regret against our table's optimum) and their sources."""
    checkpoints = summaries[0].checkpoints
    guided = getattr(summaries[0], "guidance", None) is not None  # a guided search's scoring, apart from the budget
    header = ["sampler", "runs", "test acc (%)", "regret (%)", *[f"@{c}" for c in checkpoints], "asks/run", "time (s)",
              *(["scoring (s/run)"] if guided else [])]
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
            *([f"{row['scoring_s_mean']:.1f}"] if guided else []),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if published:
        blank = [""] * len(checkpoints)
        optimum = summaries[0].optimum
        for result in published:
            accuracy = f"{result.test_mean:.2f} ± {result.test_std:.2f}"
            cells = [f"{result.method} (published)", str(result.runs), accuracy, f"{optimum - result.test_mean:.2f}",
                     *blank, "", "", *([""] if guided else [])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        sources = dict.fromkeys(result.source for result in published)  # ordered, unique
        lines.append(f"Published rows: {'; '.join(sources)}.")
    return "\n".join(lines)


def write_csv_atomically(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False, float_format="%.4f")
