"""Validation accuracy after each epoch of every trial (trials.csv's val_acc_per_epoch), the best few highlighted,
the trials ASHA stopped marked where they stopped, and ASHA's rung epochs when the search used it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nas.analysis.experiment_results import SearchResults
from nas.analysis.report_plots import plt, save_figure
from nas.run_status import Status

HIGHLIGHTED = 3


def asha_rungs(search: SearchResults) -> list[int]:
    """The epochs after which ASHA compared trials (Ray's rungs grace_period * reduction_factor**k, below its max_t
    of the recipe's epochs + 1); [] when the search did not use ASHA or did not record how."""
    if search.saved is None or not search.saved.epochs:
        return []
    early = search.saved.config.get("early_stopping") or {}
    grace, factor = early.get("grace_period"), early.get("reduction_factor")
    if not early.get("asha") or not grace or not factor or factor < 2:
        return []
    rungs, epoch = [], grace
    while epoch <= search.saved.epochs:
        rungs.append(int(epoch))
        epoch *= factor
    return rungs


def curves(search: SearchResults) -> pd.DataFrame:
    """Trials with at least one epoch recorded: trial_id, status, final val_acc and the per-epoch list."""
    trials = search.trials[search.trials["val_acc_per_epoch"].map(lambda values: len(values) > 0)]
    return trials[["trial_id", "status", "val_acc", "val_acc_per_epoch"]].reset_index(drop=True)


def epoch_table(curves_frame: pd.DataFrame) -> pd.DataFrame:
    """Per epoch: how many trials reached it, and the median and best validation accuracy among them."""
    longest = max(len(values) for values in curves_frame["val_acc_per_epoch"])
    rows = []
    for epoch in range(1, longest + 1):
        reached = [values[epoch - 1] for values in curves_frame["val_acc_per_epoch"] if len(values) >= epoch]
        rows.append({"epoch": epoch, "trials": len(reached), "median_val_acc": round(float(np.median(reached)), 4),
                     "best_val_acc": round(max(reached), 4)})
    return pd.DataFrame(rows)


def plot_learning_curves(search: SearchResults, curves_frame: pd.DataFrame, stem: Path) -> list[Path]:
    figure, axes = plt.subplots(figsize=(8, 4.5))
    best = set(curves_frame[curves_frame["status"] == Status.OK].nlargest(HIGHLIGHTED, "val_acc")["trial_id"])
    pruned_label = "stopped by ASHA (pruned)"
    for trial in curves_frame.itertuples():
        epochs = np.arange(1, len(trial.val_acc_per_epoch) + 1)
        if trial.trial_id in best:
            axes.plot(epochs, trial.val_acc_per_epoch, linewidth=2, marker="o", markersize=3, zorder=3,
                      label=f"{trial.trial_id}: {trial.val_acc:.3f}")
        else:
            axes.plot(epochs, trial.val_acc_per_epoch, color="grey", linewidth=0.8, alpha=0.5)
        if trial.status == Status.PRUNED:
            axes.plot(epochs[-1], trial.val_acc_per_epoch[-1], "x", color="tab:red", markersize=7, zorder=4,
                      label=pruned_label)
            pruned_label = "_nolegend_"  # one legend entry for all of them
    for rung in asha_rungs(search):
        axes.axvline(rung, color="tab:orange", linestyle="--", linewidth=1)
        axes.annotate(f"rung {rung}", (rung, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                      textcoords="offset points", fontsize=8, color="tab:orange")
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation accuracy")
    axes.set_title(f"Learning curves of {search.name} ({len(curves_frame)} trials; best {len(best)} in colour)")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.margins(x=0.08)  # room for the last rung's label
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return save_figure(figure, stem)
