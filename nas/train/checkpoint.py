"""Checkpoints: plain state dicts and numbers, so `torch.load(weights_only=True)` reads them; written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from nas.errors import DataError


def save_checkpoint(path: str | Path, state: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_name = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # same folder, so the rename is atomic
    try:
        torch.save(state, temp_name)
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def load_checkpoint(path: str | Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise DataError(f"cannot read checkpoint {path}: {str(error).splitlines()[0]}") from None
