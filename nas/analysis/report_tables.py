"""The report's tables as DataFrames: the leaderboard of a search, samplers side by side, and transfers or
comparisons with the published numbers beside ours."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from nas.analysis.experiment_results import Campaign, SearchResults
from nas.analysis.published_table import published_on, published_result
from nas.data.data_facts import NOT_RECORDED
from nas.evaluation.campaign_summary import readable_summary
from nas.plural import count_of
from nas.run_status import Status
from nas.train.degenerate import record_degenerate_reason

# The published numbers come from the papers' full-length training (ResNets about 160 epochs, DenseNets 300, DARTS
# cells 600); a recipe this much shorter is not a like-for-like comparison, and the report says so.
COMPARABLE_EPOCHS = 150


def leaderboard(search: SearchResults, top: int) -> pd.DataFrame:
    best = search.finished.sort_values("val_acc", ascending=False).head(top)
    return pd.DataFrame({
        "rank": range(1, len(best) + 1),
        "val_acc": best["val_acc"].round(4).to_numpy(),
        "params": best["params"].to_numpy(),
        "MMACs": (best["macs"] / 1e6).round(1).to_numpy(),
        "train_s": best["train_time_s"].round(0).to_numpy(),
        "hash": best["hash"].to_numpy(),
        # a trial that predicted one class or sat at chance ranks nothing, however its accuracy compares
        "flag": [record_degenerate_reason(row) for _, row in best.iterrows()],
        "genotype": best["genotype"].to_numpy(),
    })


def sampler_summary(searches: Sequence[SearchResults]) -> pd.DataFrame:
    rows = []
    for search in searches:
        finished = search.finished.sort_values("val_acc", ascending=False)
        rows.append({
            "experiment": search.name, "sampler": search.sampler, "trials": len(search.trials),
            "ok": len(finished), "failed": int(search.trials["status"].isin([Status.FAILED, Status.DIVERGED]).sum()),
            "pruned": int((search.trials["status"] == Status.PRUNED).sum()),
            "degenerate": sum(bool(record_degenerate_reason(row)) for _, row in finished.iterrows()),
            "best_val_acc": round(finished["val_acc"].max(), 4) if len(finished) else None,
            "top3_mean_val_acc": round(finished["val_acc"].head(3).mean(), 4) if len(finished) else None,
            "train_hours": round(search.trials["train_time_s"].sum() / 3600, 2),
            "wall_minutes": round(search.trials["elapsed_s"].max() / 60, 1),
        })
    return pd.DataFrame(rows)


def campaign_table(campaign: Campaign) -> pd.DataFrame:
    """The campaign's summary, with the published test accuracy beside ours (baselines and registry cells whose
    paper we cite) only where it trained and tested on the published numbers' data (CIFAR-10, 10 classes)."""
    table = readable_summary(campaign.summary)
    if not published_on(campaign.data_facts.dataset, campaign.data_facts.classes):
        return table
    published = [published_result(name, kind) for name, kind in zip(campaign.summary["name"],
                                                                     campaign.summary["kind"])]
    table["published test accuracy (%)"] = [f"{100 - p['test_error']:.2f}" if p else "" for p in published]
    table["published source"] = [p["source"] if p else "" for p in published]
    return table


def published_note(campaign: Campaign) -> str:
    """Whether the published numbers stand beside this campaign's, and how far they compare."""
    facts = campaign.data_facts
    if not facts.recorded:
        return "published numbers left out: this campaign did not record its dataset"
    if not published_on(facts.dataset, facts.classes):
        return (f"published numbers left out: they were measured on CIFAR-10 (10 classes), this campaign on "
                f"{facts.describe_dataset()}")
    epochs = campaign.recipe.get("epochs")
    if isinstance(epochs, int) and epochs >= COMPARABLE_EPOCHS:
        return (f"published numbers: the papers' own full-length training; this campaign trained "
                f"{count_of(epochs, 'epoch')}, comparable in length")
    return (f"published numbers: the papers' own full-length training (160 to 600 epochs); this campaign trained "
            f"{count_of(epochs if epochs is not None else '?', 'epoch')}: not comparable, shown for scale only")


def failure_breakdown(search: SearchResults) -> pd.DataFrame:
    """The trials that did not finish, by status and reason (the trials' `error` column), most frequent first."""
    unfinished = search.trials[search.trials["status"] != Status.OK]
    reasons = unfinished["error"].fillna("").astype(str).str.strip().replace("", "no reason recorded")
    counts = (pd.DataFrame({"status": unfinished["status"].astype(str), "reason": reasons.str.slice(0, 160)})
              .value_counts().rename("trials").reset_index())
    return counts.sort_values(["trials", "status"], ascending=[False, True], ignore_index=True)


def describe_recipe(recipe: dict) -> str:
    if not recipe:
        return f"recipe {NOT_RECORDED}"
    value = {key: recipe.get(key, "?") for key in ("name", "epochs", "batch_size", "lr", "channels", "cells")}
    return (f"recipe {value['name']}: {count_of(value['epochs'], 'epoch')}, batch {value['batch_size']}, "
            f"lr {value['lr']}, C={value['channels']}, {count_of(value['cells'], 'cell')} for cell networks")
