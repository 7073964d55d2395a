"""Run training jobs as Ray Tune trials (as many at once as the resources allow) and keep their rows.

Each job is one trial; rows are written as trials finish, so a campaign killed half-way keeps what finished, and
running it again trains only the jobs without an `ok` row (an interrupted one continues from its checkpoint).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ray import tune

from nas.cluster.resources import Resources
from nas.cluster.trial_training import TrialSettings
from nas.cluster.tune_trials import TuneRun, fit, tune_trainable
from nas.evaluation.job_trial import train_job
from nas.evaluation.jobs import JobRecord, JobTable, TrainingJob
from nas.plural import count_of
from nas.run_status import Status


@dataclass(frozen=True)
class JobRunSettings:
    folder: Path  # rows, checkpoints and metrics of every job
    recipe: dict  # resolved in the driver: a recipe file need not exist on the workers
    resources: Resources
    imports: tuple[str, ...] = ()


def run_jobs(jobs: list[TrainingJob], splits, settings: JobRunSettings,
             print_line: Callable[[str], None] = print) -> tuple[JobTable, bool]:
    """Train the jobs without an `ok` row in the folder's table, on the Ray the campaign started; the table, and
    whether Ctrl-C stopped the run."""
    table = JobTable(settings.folder)
    todo = table.unfinished(jobs)
    print_line(f"{count_of(len(jobs), 'run')}: {len(jobs) - len(todo)} already finished, {len(todo)} to train "
               f"({settings.resources.workers} at once)")
    if not todo:
        return table, False
    resources = settings.resources
    trial_settings = TrialSettings(recipe=settings.recipe, imports=settings.imports, cpus=resources.cpus_per_trial,
                                   gpus=resources.gpus_per_trial)
    interrupted = fit(tune_trainable(train_job, splits, resources), TuneRun(
        name=f"{Path(settings.folder).name}-{time.strftime('%Y%m%d-%H%M%S')}",
        storage=(Path(settings.folder) / "ray").resolve(), resources=resources,
        param_space={"job": tune.grid_search([job.to_dict() for job in todo]), "settings": trial_settings.to_dict(),
                     "folder": str(Path(settings.folder).resolve())},
        callbacks=[RecordRows(table, print_line, len(todo))]))
    return table, interrupted


class RecordRows(tune.Callback):
    """Each finished trial's row goes into the table at once, with a progress line."""

    def __init__(self, table: JobTable, print_line, total: int):
        self.table, self.print_line, self.total, self.finished = table, print_line, total, 0

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._record((trial.last_result or {}).get("record"), trial)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._record(None, trial)

    def _record(self, row: dict | None, trial) -> None:
        if row is None:  # the worker died and Tune's retries were used up
            job = TrainingJob(**trial.config["job"])
            row = JobRecord(job.job_id, job.name, job.kind, job.seed, Status.FAILED, hash=job.cell_hash,
                            error="the trial's worker died").__dict__
        record = JobRecord(**row)
        self.table.upsert(record)
        self.finished += 1
        outcome = f"test acc {record.test_acc:.4f}" if record.test_acc is not None else record.error
        self.print_line(f"[{self.finished:>3}/{self.total}] {record.status:<8} {record.job_id}: {outcome}")
