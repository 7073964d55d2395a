"""What a report reads: a search's trials and settings, and the transfers and comparisons made from it, through the
typed readers of their folders (nas.search.experiment_folder, nas.evaluation.campaign_folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from nas.data.data_facts import NOT_RECORDED, DataFacts
from nas.errors import ConfigError
from nas.evaluation.campaign_folder import CampaignPaths, CampaignSettings, transfers_of
from nas.plural import count_of
from nas.run_status import Status
from nas.search.experiment_folder import ExperimentPaths, SavedExperiment
from nas.search.trial_store import TrialStore


@dataclass
class Campaign:
    """A transfer or comparison folder: its summary table and the settings it was trained with."""

    title: str
    folder: Path
    summary: pd.DataFrame
    recipe: dict
    data_facts: DataFacts = DataFacts()  # what it trained and tested on; all None: not recorded (older folders)
    seeds: tuple[int, ...] = ()  # the seeds it was started with; empty: not recorded


@dataclass
class SearchResults:
    name: str
    folder: Path
    saved: SavedExperiment | None  # experiment.yaml; None when the folder has none (a table copied on its own)
    trials: pd.DataFrame  # one row per trial, with `elapsed_s` since the search's first trial started
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def sampler(self) -> str:
        return str((self.saved and self.saved.sampler) or self.trials["sampler"].iloc[0])

    @property
    def finished(self) -> pd.DataFrame:
        return self.trials[(self.trials["status"] == Status.OK) & self.trials["val_acc"].notna()]


def is_search(folder) -> bool:
    return ExperimentPaths(Path(folder)).is_experiment()


def is_campaign(folder) -> bool:
    return CampaignPaths(Path(folder)).is_campaign()


def load_search(folder) -> SearchResults:
    paths = ExperimentPaths(Path(folder))
    paths.require_experiment()
    store = TrialStore(paths.root)
    if not len(store):
        raise ConfigError(f"experiment {paths.root.name!r} has no trials yet")
    trials = pd.DataFrame([record.__dict__ for record in store.records])
    finished = pd.to_datetime(trials["finished_at"], errors="coerce", utc=True)
    started = finished - pd.to_timedelta(trials["train_time_s"].fillna(0), unit="s")
    trials["elapsed_s"] = (finished - started.min()).dt.total_seconds()
    saved = SavedExperiment.read(paths) if paths.config.is_file() else None
    campaigns = [load_campaign(folder) for folder in transfers_of(paths.root)]
    return SearchResults(paths.root.name, paths.root, saved, trials, campaigns)


def load_campaign(folder) -> Campaign:
    paths = CampaignPaths(Path(folder))
    if not paths.is_campaign():
        raise ConfigError(f"{paths.root} holds no transfer or comparison (no {paths.summary.name} beside "
                          f"{paths.runs.name})")
    settings = CampaignSettings.read(paths)
    return Campaign(settings.title, paths.root, pd.read_csv(paths.summary), settings.recipe, settings.data_facts,
                    tuple(settings.seeds))


def describe_budget(search: SearchResults) -> str:
    """One line on how much training stands behind a search's numbers, so nobody mistakes it for a paper's: only
    what the search recorded (an older search's data facts read as not recorded)."""
    saved = search.saved or SavedExperiment(config={}, recipe={})
    size = {key: saved.network_size(key) or "?" for key in ("channels", "cells")}
    devices = sorted(set(search.trials["device"]) - {""})
    first = pd.to_datetime(search.trials["finished_at"], errors="coerce").min()
    when = first.strftime("%Y-%m-%d") if isinstance(first, datetime) else "?"
    seed = saved.config.get("seed")
    return (f"{count_of(len(search.trials), 'trial')} of sampler {search.sampler}; each candidate: "
            f"C={size['channels']}, {count_of(size['cells'], 'cell')}, {count_of(saved.epochs or '?', 'epoch')} "
            f"on {describe_search_data(saved)} "
            f"(proxy training); seed {NOT_RECORDED if seed is None else seed}; device "
            f"{', '.join(devices) or NOT_RECORDED}; run {when}")


def describe_search_data(saved: SavedExperiment) -> str:
    """The images a search's candidates trained and were ranked on, as its experiment.yaml recorded them."""
    facts = saved.data_facts
    if facts.recorded:
        return f"{facts.describe_training()} of {facts.describe_dataset()}"
    dataset = saved.data.get("dataset")
    dataset = dataset if dataset and dataset != "auto" else "a dataset found by its files"
    asked = (f"a class-balanced subset of {saved.training_subset:,} images" if saved.training_subset
             else "the training set")
    return f"{asked} of {dataset}, split into training and validation (image counts {NOT_RECORDED})"
