"""What a training run returns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

STATUSES = ("ok", "diverged", "stopped")


@dataclass
class TrainResult:
    """status: 'ok' (all epochs), 'stopped' (on_epoch asked to stop), 'diverged' (loss went NaN/inf).

    val_acc is the last completed epoch's validation accuracy (None when no epoch completed or no val split);
    test_acc is None unless eval_test. history holds one dict per completed epoch."""

    status: str
    history: list[dict] = field(default_factory=list)
    val_acc: float | None = None
    test_acc: float | None = None
    wall_time: float = 0.0
    images_per_sec: float = 0.0
    epochs_completed: int = 0
    message: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
