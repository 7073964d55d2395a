"""Checkpoints: plain state dicts and numbers, so `torch.load(weights_only=True)` reads them; written atomically.

A checkpoint that cannot be written (a full disk, a folder gone read-only) is a CheckpointWriteError: the trainer
stops there and hands the error the run's result so far, so a caller can keep the metrics (the previous epoch's
checkpoint is still whole, since each is written beside it and renamed over it). Before training, `check_room`
refuses a folder whose disk cannot hold the checkpoints at all, estimated from the model's state.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import torch

from nas.atomic_files import atomic_path
from nas.errors import ConfigError, DataError, NasError

# SGD keeps one momentum buffer per parameter; a write needs the new file beside the previous one until the rename.
OPTIMIZER_COPIES = 1
COPIES_ON_DISK = 2
OVERHEAD_BYTES = 1 << 20  # pickled history, recipe and zip headers: far less than this


class CheckpointWriteError(NasError):
    """A checkpoint could not be written. `result` is the training result up to the last whole epoch (set by the
    trainer); `reason` says why (the OS's words)."""

    def __init__(self, path, reason: str):
        super().__init__(f"the checkpoint {path} could not be written: {reason}")
        self.path = Path(path)
        self.reason = reason
        self.result = None


def save_checkpoint(path: str | Path, state: dict) -> None:
    try:
        with atomic_path(path) as temporary:
            torch.save(state, temporary)
    except OSError as error:
        raise CheckpointWriteError(path, error.strerror or str(error)) from None
    except RuntimeError as error:  # torch's zip writer reports a failed write (ENOSPC included) as RuntimeError
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "RuntimeError"
        free = _free_bytes(Path(path).parent)
        raise CheckpointWriteError(path, reason + (f" ({human_bytes(free)} free on that disk)" if free is not None
                                                   else "")) from None


def load_checkpoint(path: str | Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if isinstance(error, pickle.UnpicklingError) or reason.isdigit() or not reason:
            reason = "it is not a file torch.save wrote"  # the old loader's error is just the bytes it read
        raise DataError(f"cannot read checkpoint {path}: {reason.split('. This is an internal')[0]}") from None


def checkpoint_bytes(model: torch.nn.Module) -> int:
    """About how large a training checkpoint of `model` is: its state, the optimizer's buffers, the rest."""
    state = sum(t.numel() * t.element_size() for t in model.state_dict().values() if isinstance(t, torch.Tensor))
    parameters = sum(p.numel() * p.element_size() for p in model.parameters())
    return state + OPTIMIZER_COPIES * parameters + OVERHEAD_BYTES


def check_room(model: torch.nn.Module, path: str | Path, what: str = "--out") -> None:
    """Refuse to train when the disk under `path` has less room than the checkpoints need (two at once, while
    one replaces the other), so that a long run does not end in a write that fails."""
    path = Path(path)
    free = _free_bytes(path.parent)
    needed = COPIES_ON_DISK * checkpoint_bytes(model)
    if path.exists():
        needed -= path.stat().st_size  # resuming: the previous checkpoint is already on the disk
    if free is not None and free < needed:
        raise ConfigError(f"{what} {path.parent}: the disk has {human_bytes(free)} free, and the checkpoints need "
                          f"about {human_bytes(needed)} (the weights and optimizer state, twice while one replaces "
                          f"the other); free some space or choose another {what}")


def _free_bytes(folder: Path) -> int | None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        return shutil.disk_usage(existing).free
    except OSError:
        return None


def human_bytes(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"
