"""What a training run hands back: a line per epoch (EpochMetrics, also what the epoch callback sees) and the run's
result (TrainResult)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from nas.run_status import Status
from nas.train.degenerate import degenerate_reason

# How a training run can end: it trains every epoch, diverges, or its caller stops it early (pruned).
TRAINING_STATUSES = (Status.OK, Status.DIVERGED, Status.PRUNED)


@dataclass(frozen=True)
class EpochMetrics:
    """One completed epoch. Checkpoints and metrics.json keep it as a plain dict (`to_dict`)."""

    epoch: int  # 1-based
    train_loss: float
    train_acc: float
    val_acc: float | None  # None without a validation split
    val_loss: float | None
    lr: float
    drop_path: float | None
    images: int  # trained this epoch
    train_seconds: float  # the training steps alone
    time: float  # the whole epoch, evaluation included
    images_per_sec: float
    step: str  # how the step ran: eager or CUDA graph, and its number format
    capture_seconds: float  # CUDA graph capture, summed over the run so far
    val_top_class_share: float | None = None  # share of the most-predicted class on val (None: not recorded)
    eval_seconds: float | None = None  # validation, batch-norm recalibration included (None: not recorded)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> "EpochMetrics":
        """From a checkpoint; a field an older checkpoint did not record reads as None."""
        return cls(**{field.name: saved.get(field.name) for field in dataclasses.fields(cls)})


@dataclass(frozen=True)
class Evaluation:
    """One pass over a validation or test split. top_class_share: the share of the images put in the class
    predicted most often (1.0: one class for everything; nas.train.degenerate reads it)."""

    accuracy: float | None = None
    loss: float | None = None
    top_class_share: float | None = None
    images: int = 0


@dataclass
class TrainResult:
    """status: ok (all epochs), pruned (the epoch callback asked to stop), diverged (loss went NaN/inf).

    val_acc is the last completed epoch's validation accuracy (None when no epoch completed or no val split);
    test_acc is None unless eval_test; test_top_class_share and test_images are the test pass's (see Evaluation);
    num_classes is the dataset's (chance level is 1/num_classes)."""

    status: str  # one of TRAINING_STATUSES
    history: list[EpochMetrics] = field(default_factory=list)
    val_acc: float | None = None
    test_acc: float | None = None
    wall_time: float = 0.0
    images_per_sec: float = 0.0
    epochs_completed: int = 0
    message: str = ""
    num_classes: int | None = None
    test_top_class_share: float | None = None
    test_images: int | None = None

    @property
    def val_top_class_share(self) -> float | None:
        return self.history[-1].val_top_class_share if self.history else None

    def degenerate_reason(self) -> str:
        """Why the run's last accuracy (test if tested, else val) is no result, or "" (nas.train.degenerate)."""
        if self.test_acc is not None:
            return degenerate_reason(self.test_acc, self.num_classes, self.test_top_class_share, self.test_images)
        return degenerate_reason(self.val_acc, self.num_classes, self.val_top_class_share)

    def __post_init__(self):
        self.status = Status.checked(self.status, "training status")
        if self.status not in TRAINING_STATUSES:
            raise ValueError(f"a training run cannot end {self.status!r}: it ends "
                             f"{', '.join(map(str, TRAINING_STATUSES))}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def metrics_history(metrics: dict) -> list[EpochMetrics]:
    """The per-epoch rows of a metrics.json (`nas train`'s or a campaign job's): under `history`, or under
    `epochs` as `nas train` wrote them before the two were made one; none when neither was recorded."""
    rows = metrics.get("history")
    if rows is None and isinstance(metrics.get("epochs"), list):
        rows = metrics["epochs"]
    return [EpochMetrics.from_dict(row) for row in rows or []]
