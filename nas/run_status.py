"""How a training run or a trial ended: one vocabulary for the trainer, the trial functions, the trial store, the
campaign's job table and the samplers' outcomes, so no stage maps one set of strings onto another.

Tables store the value (`ok`, `pruned`, ...): old trials.csv and runs.csv files read back unchanged."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    OK = "ok"  # every epoch trained
    FAILED = "failed"  # the network could not be built or trained, or its worker died
    DIVERGED = "diverged"  # the training loss became NaN or infinite
    PRUNED = "pruned"  # stopped before its last epoch: by the scheduler (ASHA), a time limit, or its caller

    def __str__(self) -> str:  # the value, in f-strings and tables, on every Python version
        return self.value

    @classmethod
    def checked(cls, value, what: str) -> str:
        """`value` as the plain string tables store; ValueError naming `what` when it is not a status."""
        try:
            return cls(value).value
        except ValueError:
            raise ValueError(f"{what} {value!r} is not one of {', '.join(STATUSES)}") from None


STATUSES = tuple(status.value for status in Status)
