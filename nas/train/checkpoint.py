"""Checkpoints: plain state dicts and numbers, so `torch.load(weights_only=True)` reads them; written atomically."""

from __future__ import annotations

from pathlib import Path

import torch

from nas.atomic_files import atomic_path
from nas.errors import DataError


def save_checkpoint(path: str | Path, state: dict) -> None:
    with atomic_path(path) as temporary:
        torch.save(state, temporary)


def load_checkpoint(path: str | Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise DataError(f"cannot read checkpoint {path}: {str(error).splitlines()[0]}") from None
