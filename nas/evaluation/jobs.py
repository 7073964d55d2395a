"""A training job (one network, one seed) and the table of their results."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from nas.evaluation.campaign_folder import CampaignPaths
from nas.evaluation.cell_identity import NamedCell, named_cells
from nas.models import get_model
from nas.record_table import RecordTable
from nas.run_status import Status
from nas.space.genotype import Genotype


@dataclass(frozen=True)
class TrainingJob:
    """One network trained with one seed. Exactly one of `genotype` (one-line form) and `baseline` is set."""

    name: str  # what the tables call it: a cell's name (`quick-1`, `darts-v2`) or a baseline's (`resnet56`)
    seed: int
    genotype: str | None = None
    baseline: str | None = None
    stack: str | None = None  # cell networks: how the cell is stacked (None: by image size)
    source: str = ""  # where a cell came from (the search, its rank and val accuracy), for the tables

    @property
    def job_id(self) -> str:
        return f"{self.name}-seed{self.seed}"

    @property
    def kind(self) -> str:
        return "cell" if self.genotype is not None else "baseline"

    @property
    def cell_hash(self) -> str:
        """The cell's canonical hash (a search's `hash` column); empty for a baseline."""
        return Genotype.parse(self.genotype).hash() if self.genotype is not None else ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def comparison_jobs(cells: list[str] | list[NamedCell], baselines: list[str], seeds: int) -> list[TrainingJob]:
    """Each distinct cell (a published name or a genotype file, named as nas.evaluation.cell_identity says, or
    cells already named so) and each baseline, once per seed; unknown names and name collisions raise ConfigError
    before anything is trained."""
    if not all(isinstance(cell, NamedCell) for cell in cells):
        cells = named_cells(cells, other_names=tuple(baselines))
    jobs = []
    for cell in cells:
        jobs += [TrainingJob(name=cell.name, seed=seed, genotype=str(cell.genotype), source=cell.given_as)
                 for seed in range(seeds)]
    for baseline in dict.fromkeys(baselines):  # one given twice is one network too
        get_model(baseline, kind="baseline")
        jobs += [TrainingJob(name=baseline, seed=seed, baseline=baseline) for seed in range(seeds)]
    return jobs


@dataclass
class JobRecord:
    job_id: str
    name: str
    kind: str
    seed: int
    status: str
    test_acc: float | None = None
    test_images: int | None = None  # what test_acc rests on (--test-subset); None: not recorded (older tables)
    top_class_share: float | None = None  # of the test predictions; nas.train.degenerate reads it
    num_classes: int | None = None
    params: int | None = None
    macs: int | None = None
    epochs: int | None = None
    train_time_s: float | None = None
    images_per_sec: float | None = None
    device: str = ""
    recipe: str = ""
    stack: str = ""
    model: str = ""  # the genotype's one-line form or the baseline's name
    source: str = ""
    hash: str = ""  # the cell's canonical hash, as in the search's trials.csv; empty for baselines and old rows
    error: str = ""
    finished_at: str = ""

    def __post_init__(self):
        self.status = Status.checked(self.status, "status")


class JobTable(RecordTable[JobRecord]):
    """`<folder>/runs.csv`: one row per finished job; a job with an `ok` row is never trained again."""

    def __init__(self, folder):
        super().__init__(CampaignPaths(Path(folder)).runs, JobRecord)

    def unfinished(self, jobs: list[TrainingJob]) -> list[TrainingJob]:
        """The jobs without an `ok` row, in their order: what a (second) run of the campaign trains."""
        done = {record.job_id for record in self._records if record.status == Status.OK}
        return [job for job in jobs if job.job_id not in done]

    def upsert(self, record: JobRecord) -> None:
        """Add the row, replacing an earlier row of the same job (a failed run tried again)."""
        self.replace_all([row for row in self._records if row.job_id != record.job_id] + [record])
