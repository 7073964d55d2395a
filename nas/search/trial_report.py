"""What a trial reports: to Ray Tune after every epoch (its scheduler reads `epoch` and `val_acc`), and once more
at the end with `final` set, which the searcher turns into the trial's row in the store."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from nas.run_status import Status


@dataclass
class TrialReport:
    val_acc: float = 0.0  # Tune insists on the metric in every report; a failed trial's 0.0 is never stored
    epoch: int = 0
    val_acc_per_epoch: list[float] = field(default_factory=list)
    device: str = ""
    node: str = ""  # the Ray node's address, so a cluster's table says where each candidate ran
    params: int | None = None
    macs: int | None = None
    final: bool = False
    status: str | None = None  # set on the final report: a Status
    error: str = ""
    train_time_s: float | None = None  # the trainer's wall time: set-up probes, graph capture, steps, evaluation
    step_s: float | None = None  # of which training steps alone
    setup_s: float | None = None  # before the trainer: the trial's imports, building the network, counting its cost
    eval_s: float | None = None  # of train_time_s, evaluation (batch-norm recalibration included), summed over epochs
    started_at: str | None = None  # when the trial function began in the worker (search_timing.utc_timestamp)
    worker_s: float | None = None  # the trial function's wall time, from its start to its final report
    images_per_sec: float | None = None
    top_class_share: float | None = None  # the last epoch's val predictions: share of the most-predicted class
    num_classes: int | None = None

    def __post_init__(self):
        if self.status is not None:
            self.status = Status.checked(self.status, "trial status")

    def to_metrics(self) -> dict:
        """The dict Tune is given (values that are not known yet are left out)."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}

    @classmethod
    def from_metrics(cls, result: dict) -> "TrialReport":
        """Back from Tune's result, which adds keys of its own."""
        return cls(**{f.name: result[f.name] for f in dataclasses.fields(cls) if f.name in result})
