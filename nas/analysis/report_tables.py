"""The report's tables as DataFrames: the leaderboard of a search, samplers side by side, and transfers or
comparisons with the published numbers beside ours."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from nas.analysis.experiment_results import Campaign, SearchResults
from nas.analysis.published_table import published_baseline
from nas.evaluation.campaign_summary import readable_summary
from nas.plural import count_of
from nas.run_status import Status


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
            "ok": len(finished), "failed": int(search.trials["status"].isin([Status.FAILED, Status.DIVERGED]).sum()),
            "best_val_acc": round(finished["val_acc"].max(), 4) if len(finished) else None,
            "top3_mean_val_acc": round(finished["val_acc"].head(3).mean(), 4) if len(finished) else None,
            "train_hours": round(search.trials["train_time_s"].sum() / 3600, 2),
            "wall_minutes": round(search.trials["elapsed_s"].max() / 60, 1),
        })
    return pd.DataFrame(rows)


def campaign_table(campaign: Campaign) -> pd.DataFrame:
    """The campaign's summary with the published test accuracy beside ours (baselines whose paper we cite)."""
    table = readable_summary(campaign.summary)
    published = [published_baseline(name) if kind == "baseline" else None
                 for name, kind in zip(campaign.summary["name"], campaign.summary["kind"])]
    table["published test accuracy (%)"] = [f"{100 - p['test_error']:.2f}" if p else "" for p in published]
    table["published source"] = [p["source"] if p else "" for p in published]
    return table


def describe_recipe(recipe: dict) -> str:
    if not recipe:
        return "recipe unknown"
    return (f"recipe {recipe.get('name')}: {count_of(recipe.get('epochs'), 'epoch')}, "
            f"batch {recipe.get('batch_size')}, lr {recipe.get('lr')}, C={recipe.get('channels')}, "
            f"{count_of(recipe.get('cells'), 'cell')} for cell networks")
