"""What a training run returns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# How one training run ended (a search maps these onto its trial statuses in nas.samplers.base.STATUSES).
TRAINING_STATUSES = ("ok", "diverged", "stopped")


@dataclass
class TrainResult:
    """status: 'ok' (all epochs), 'stopped' (on_epoch asked to stop), 'diverged' (loss went NaN/inf).

    val_acc is the last completed epoch's validation accuracy (None when no epoch completed or no val split);
    test_acc is None unless eval_test. history holds one dict per completed epoch."""

    status: str  # one of TRAINING_STATUSES
    history: list[dict] = field(default_factory=list)
    val_acc: float | None = None
    test_acc: float | None = None
    wall_time: float = 0.0
    images_per_sec: float = 0.0
    epochs_completed: int = 0
    message: str = ""

    def __post_init__(self):
        if self.status not in TRAINING_STATUSES:
            raise ValueError(f"training status {self.status!r} is not one of {', '.join(TRAINING_STATUSES)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
