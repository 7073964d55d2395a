"""Every candidate a search trained, one row each, in `<experiment>/trials.csv` (and trials.parquet).

The driver process is the only writer; each append rewrites the table atomically (nas.record_table). Tables of a
few thousand rows take milliseconds to rewrite, which is nothing beside training a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nas.record_table import RecordTable
from nas.run_status import Status


@dataclass
class TrialRecord:
    trial_id: str
    token: int  # the sampler's token, so a resumed search can tell which suggestions have answers
    sampler: str
    genotype: str
    hash: str
    choices: list[int]
    status: str
    val_acc: float | None = None
    val_acc_per_epoch: list[float] = field(default_factory=list)
    top_class_share: float | None = None  # of the last val predictions; None: not recorded (older tables)
    num_classes: int | None = None  # with top_class_share, what nas.train.degenerate reads
    params: int | None = None
    macs: int | None = None
    train_time_s: float | None = None
    step_s: float | None = None  # training steps alone (train_time_s less probes, capture, evaluation)
    setup_s: float | None = None  # the trial's own set-up before training (network built, cost counted)
    eval_s: float | None = None  # of train_time_s, evaluation with batch-norm recalibration; None: not recorded
    worker_s: float | None = None  # the trial function's whole wall time in the worker; None: not recorded
    started_at: str = ""  # when the trial function began in the worker (UTC, ISO 8601, ms); "": not recorded
    images_per_sec: float | None = None
    epochs: int | None = None
    device: str = ""
    node: str = ""  # address of the Ray node that trained it
    error: str = ""
    finished_at: str = ""
    # A search with a zero-cost proxy (config zero_cost:): the proxy that guided it (a name, or vote), its value for
    # this cell (a vote: among the cells scored until then), every proxy it computed, and why one could not score.
    # Empty: no proxy, or a table written before proxies were recorded.
    proxy: str = ""
    proxy_score: float | None = None
    proxy_values: dict[str, float] = field(default_factory=dict)
    proxy_reason: str = ""

    def __post_init__(self):
        self.status = Status.checked(self.status, "status")


TRIALS_FILE = "trials.csv"  # in the experiment folder (nas.search.experiment_folder)


class TrialStore(RecordTable[TrialRecord]):
    def __init__(self, directory):
        self.directory = Path(directory)
        super().__init__(self.directory / TRIALS_FILE, TrialRecord)

    def by_hash(self) -> dict[str, TrialRecord]:
        return {record.hash: record for record in self._records}

    def best(self, count: int = 1) -> list[TrialRecord]:
        finished = [record for record in self._records if record.status == Status.OK and record.val_acc is not None]
        return sorted(finished, key=lambda record: -record.val_acc)[:count]
