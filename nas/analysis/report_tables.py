"""The report's tables as DataFrames: the leaderboard of a search, samplers side by side, and transfers or
comparisons with the published numbers beside ours."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from nas.analysis.experiment_results import Campaign, SearchResults
from nas.analysis.published_table import published_baseline


def leaderboard(search: SearchResults, top: int) -> pd.DataFrame:
    best = search.finished.sort_values("val_acc", ascending=False).head(top)
    return pd.DataFrame({
        "rank": range(1, len(best) + 1),
        "val_acc": best["val_acc"].round(4).to_numpy(),
        "params": best["params"].to_numpy(),
        "MMACs": (best["macs"] / 1e6).round(1).to_numpy(),
        "train_s": best["train_time_s"].round(0).to_numpy(),
        "hash": best["hash"].to_numpy(),
        "genotype": best["genotype"].to_numpy(),
    })


def sampler_summary(searches: Sequence[SearchResults]) -> pd.DataFrame:
    rows = []
    for search in searches:
        finished = search.finished.sort_values("val_acc", ascending=False)
        rows.append({
            "experiment": search.name, "sampler": search.sampler, "trials": len(search.trials),
            "ok": len(finished), "failed": int(search.trials["status"].isin(["failed", "diverged"]).sum()),
            "best_val_acc": round(finished["val_acc"].max(), 4) if len(finished) else None,
            "top3_mean_val_acc": round(finished["val_acc"].head(3).mean(), 4) if len(finished) else None,
            "train_hours": round(search.trials["train_time_s"].sum() / 3600, 2),
            "wall_minutes": round(search.trials["elapsed_s"].max() / 60, 1),
        })
    return pd.DataFrame(rows)


def campaign_table(campaign: Campaign) -> pd.DataFrame:
    """Our test accuracy beside the published one (baselines whose paper we cite), with the source."""
    rows = []
    for row in campaign.summary.itertuples():
        published = published_baseline(row.name) if row.kind == "baseline" else None
        rows.append({
            "network": row.name, "kind": row.kind, "seeds": row.seeds,
            "test_acc_%": f"{100 * row.test_acc_mean:.2f} ± {100 * row.test_acc_std:.2f}",
            "params_M": round(row.params / 1e6, 3), "MMACs": round(row.macs / 1e6, 1),
            "train_s": round(row.train_time_s), "images_per_s": round(row.images_per_sec),
            "published_test_acc_%": f"{100 - published['test_error']:.2f}" if published else "",
            "published_source": published["source"] if published else "",
        })
    return pd.DataFrame(rows)


def describe_recipe(recipe: dict) -> str:
    if not recipe:
        return "recipe unknown"
    return (f"recipe {recipe.get('name')}: {recipe.get('epochs')} epochs, batch {recipe.get('batch_size')}, "
            f"lr {recipe.get('lr')}, C={recipe.get('channels')}, {recipe.get('cells')} cells for cell networks")
