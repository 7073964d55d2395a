"""The table a transfer or comparison ends with: one row per network, test accuracy as mean ± std over seeds."""

from __future__ import annotations

import pandas as pd

from nas.atomic_files import write_text_atomic
from nas.data.data_facts import DataFacts
from nas.evaluation.campaign_folder import CampaignPaths
from nas.evaluation.jobs import JobTable
from nas.markdown_table import markdown_table
from nas.run_status import Status
from nas.train.degenerate import record_degenerate_kind



def campaign_summary_frame(table: JobTable) -> pd.DataFrame:
    frame = table.frame()
    ok = frame[frame["status"] == Status.OK]
    if ok.empty:
        return pd.DataFrame(columns=["name", "kind", "seeds", "test_acc_mean", "test_acc_std", "params", "macs",
                                     "train_time_s", "images_per_sec", "device", "recipe", "source", "hash",
                                     "flag"])
    grouped = ok.groupby("name", sort=False)
    summary = pd.DataFrame({
        "kind": grouped["kind"].first(),
        "seeds": grouped["seed"].count(),
        "test_acc_mean": grouped["test_acc"].mean(),
        "test_acc_std": grouped["test_acc"].std(ddof=1),  # empty with one seed: a spread needs two
        "params": grouped["params"].first(),
        "macs": grouped["macs"].first(),
        "train_time_s": grouped["train_time_s"].mean(),
        "images_per_sec": grouped["images_per_sec"].mean(),
        "device": grouped["device"].first(),
        "recipe": grouped["recipe"].first(),
        "source": grouped["source"].first(),
        "hash": grouped["hash"].first(),  # links the row to the search's trial and to other campaigns' rows
        "flag": grouped.apply(degenerate_flag, include_groups=False),
    }).reset_index()
    return summary.sort_values("test_acc_mean", ascending=False, ignore_index=True)


def degenerate_flag(runs: pd.DataFrame) -> str:
    """What the seeds of one network say of its accuracy, e.g. "chance level in 2/2 seeds"; "" when none is
    degenerate or the table predates the columns (nas.train.degenerate)."""
    kinds = [kind for kind in (record_degenerate_kind(row) for _, row in runs.iterrows()) if kind]
    return "; ".join(f"{kind} in {kinds.count(kind)}/{len(runs)} seeds" for kind in dict.fromkeys(kinds))


def readable_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as people read it (summary.md, reports): accuracy in % as mean ± std, sizes with units."""
    return pd.DataFrame({
        "network": summary["name"],
        "kind": summary["kind"],
        "test accuracy (%)": [accuracy_with_spread(mean, std, seeds) for mean, std, seeds
                              in zip(summary["test_acc_mean"], summary["test_acc_std"], summary["seeds"])],
        "seeds": summary["seeds"],
        "params": [f"{int(params):,}" for params in summary["params"]],
        "MMACs": [f"{macs / 1e6:.1f}" for macs in summary["macs"]],
        "train time (s)": [f"{seconds:.0f}" for seconds in summary["train_time_s"]],
        "images/s": [f"{rate:.0f}" for rate in summary["images_per_sec"]],
        # a summary.csv written before the column has none; read back, an empty flag is NaN
        "flag": [flag if isinstance(flag, str) else "" for flag in summary.get("flag", [""] * len(summary))],
    })


def accuracy_with_spread(mean: float, std: float, seeds: int) -> str:
    """'91.00 ± 1.41' over two or more seeds; '91.00 (n=1)' over one, whose spread is unknown, not zero (older
    summaries wrote 0 for it)."""
    if seeds < 2 or pd.isna(std):
        return f"{100 * mean:.2f} (n={seeds})"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def write_summary(table: JobTable, paths: CampaignPaths, title: str, notes: list[str],
                  data_facts: DataFacts = DataFacts()) -> pd.DataFrame:
    summary = campaign_summary_frame(table)
    write_text_atomic(paths.summary, summary.to_csv(index=False))
    devices = sorted(set(table.frame()["device"]) - {""})
    notes = [*notes, data_facts.describe_final_split(), f"device: {', '.join(devices) or 'none finished'}"]
    document = [f"# {title}", "", *[f"- {note}" for note in notes], "", markdown_table(readable_summary(summary))]
    write_text_atomic(paths.summary_document, "\n".join(document) + "\n")
    return summary
