"""What a report reads: a search's trials and settings, and the transfers and comparisons made from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from nas.errors import ConfigError
from nas.search.trial_store import TrialStore
from nas.yaml_files import read_yaml_mapping


@dataclass
class Campaign:
    """A transfer or comparison folder: its summary table and the settings it was trained with."""

    title: str
    folder: Path
    summary: pd.DataFrame
    recipe: dict


@dataclass
class SearchResults:
    name: str
    folder: Path
    settings: dict  # experiment.yaml: config, recipe, space
    trials: pd.DataFrame  # one row per trial, with `elapsed_s` since the search's first trial started
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def sampler(self) -> str:
        return str(self.settings.get("config", {}).get("sampler") or self.trials["sampler"].iloc[0])

    @property
    def finished(self) -> pd.DataFrame:
        return self.trials[(self.trials["status"] == "ok") & self.trials["val_acc"].notna()]


def load_search(folder) -> SearchResults:
    folder = Path(folder)
    if not (folder / "trials.csv").is_file():
        raise ConfigError(f"{folder} is not a search's experiment folder (it has no trials.csv)")
    store = TrialStore(folder)
    if not len(store):
        raise ConfigError(f"experiment {folder.name!r} has no trials yet")
    trials = pd.DataFrame([record.__dict__ for record in store.records])
    finished = pd.to_datetime(trials["finished_at"], errors="coerce", utc=True)
    started = finished - pd.to_timedelta(trials["train_time_s"].fillna(0), unit="s")
    trials["elapsed_s"] = (finished - started.min()).dt.total_seconds()
    settings = read_yaml_mapping(folder / "experiment.yaml", "experiment file") \
        if (folder / "experiment.yaml").is_file() else {}
    campaigns = [load_campaign(path.parent) for path in sorted(folder.glob("transfer/*/summary.csv"))]
    return SearchResults(folder.name, folder, settings or {}, trials, campaigns)


def load_campaign(folder) -> Campaign:
    folder = Path(folder)
    if not (folder / "summary.csv").is_file():
        raise ConfigError(f"{folder} holds no transfer or comparison (no summary.csv)")
    settings = read_yaml_mapping(folder / "campaign.yaml", "campaign file") if (folder / "campaign.yaml").is_file() \
        else {}
    return Campaign(settings.get("title", folder.name), folder, pd.read_csv(folder / "summary.csv"),
                    settings.get("recipe", {}))


def describe_budget(search: SearchResults) -> str:
    """One line on how much training stands behind a search's numbers, so nobody mistakes it for a paper's."""
    config, recipe = search.settings.get("config", {}), search.settings.get("recipe", {})
    # Searches made before the recipe held the network's size kept it in model.channels / model.cells.
    size = {key: config.get("model", {}).get(key) or recipe.get(key) or "?" for key in ("channels", "cells")}
    devices = sorted(set(search.trials["device"]) - {""})
    first = pd.to_datetime(search.trials["finished_at"], errors="coerce").min()
    when = first.strftime("%Y-%m-%d") if isinstance(first, datetime) else "?"
    return (f"{len(search.trials)} trials of sampler {search.sampler}; each candidate: C={size['channels']}, "
            f"{size['cells']} cells, {recipe.get('epochs', '?')} epochs on {config.get('data', {}).get('subset') or 'all'} "
            f"training images (proxy training); device {', '.join(devices) or '?'}; run {when}")
