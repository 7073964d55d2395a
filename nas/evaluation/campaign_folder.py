"""A campaign's folder (a transfer's EXPERIMENT/transfer/NAME/ or a comparison's RESULTS/compare/NAME/): the one
place its file names are spelled, and its typed reader, used by the campaign driver (a second run continues the
first) and by reports alike.

    campaign.yaml   the title, recipe and jobs it was started with, and the data it trained and tested on
    runs.csv        one row per finished job (nas.evaluation.jobs.JobTable)
    summary.csv     one row per network: test accuracy mean ± std over seeds (summary.md: the same, to read)
    <job id>/       each job's checkpoint and metrics.json
    ray/            Ray Tune's own trial folders and logs
    driver.lock     while a driver runs the campaign (nas.cluster.driver_lock)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nas.data.data_facts import DataFacts
from nas.errors import ConfigError
from nas.yaml_files import read_yaml_mapping

TRANSFERS_FOLDER = "transfer"  # in a search's experiment folder: one campaign folder per transfer
COMPARISONS_FOLDER = "compare"  # in the results folder: one campaign folder per comparison
CAMPAIGN_FILE = "campaign.yaml"
RUNS_FILE = "runs.csv"
SUMMARY_FILE = "summary.csv"
SUMMARY_DOCUMENT = "summary.md"


def transfer_folder(experiment: Path, name: str) -> Path:
    return Path(experiment) / TRANSFERS_FOLDER / name


def comparison_folder(results_dir, name: str) -> Path:
    return Path(results_dir) / COMPARISONS_FOLDER / name


def transfers_of(experiment: Path) -> list[Path]:
    """The campaign folders of a search's transfers that have finished at least once, by name."""
    return [folder for folder in sorted((Path(experiment) / TRANSFERS_FOLDER).glob("*"))
            if CampaignPaths(folder).is_campaign()]


@dataclass(frozen=True)
class CampaignPaths:
    root: Path

    @property
    def campaign(self) -> Path:
        return self.root / CAMPAIGN_FILE

    @property
    def runs(self) -> Path:
        return self.root / RUNS_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    @property
    def summary_document(self) -> Path:
        return self.root / SUMMARY_DOCUMENT

    @property
    def ray(self) -> Path:
        return self.root / "ray"

    def is_campaign(self) -> bool:
        """Whether a campaign has finished here at least once: its runs and their summary (a `nas bench` folder
        has a summary.csv too, of samplers, not networks)."""
        return self.summary.is_file() and self.runs.is_file()


@dataclass(frozen=True)
class CampaignSettings:
    """campaign.yaml, as the driver wrote it; a folder without one (made by hand) reads as empty settings."""

    title: str
    recipe: dict = field(default_factory=dict)
    jobs: tuple[dict, ...] = ()
    data_facts: DataFacts = DataFacts()  # all None (not recorded) for campaigns made before they were recorded

    @classmethod
    def read(cls, paths: CampaignPaths) -> "CampaignSettings":
        if not paths.campaign.is_file():
            return cls(title=paths.root.name)
        saved = read_yaml_mapping(paths.campaign, "campaign file")
        recipe, jobs = saved.get("recipe") or {}, saved.get("jobs") or []
        if not isinstance(recipe, dict) or not isinstance(jobs, list):
            raise ConfigError(f"campaign file {paths.campaign}: recipe must be a mapping and jobs a list "
                              f"(was it edited?)")
        return cls(title=str(saved.get("title") or paths.root.name), recipe=recipe, jobs=tuple(jobs),
                   data_facts=DataFacts.from_dict(saved.get("data_facts")))

    @property
    def seeds(self) -> list[int]:
        """The seeds its networks were trained with."""
        return sorted({job["seed"] for job in self.jobs if isinstance(job, dict) and "seed" in job})

    def to_dict(self) -> dict:
        return {"title": self.title, "recipe": self.recipe, "jobs": list(self.jobs),
                "data_facts": self.data_facts.to_dict()}
