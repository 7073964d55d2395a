"""Tensors a sampler saves beside its JSON file, written only when they change, and never in place.

The controller's LSTM and Adam state are megabytes and change only on a learning update, while its bookkeeping
(tokens, pending asks, baseline) changes on every ask and tell. So the tensors go to their own file, named by a
version (the update count): `sampler.json.weights-<version>.pt`, beside `sampler.json`, which names it.

Crash safety comes from the order of writes: the new weights file is written (atomically) under a new name, then
the JSON that names it replaces the old JSON (atomically), and only then are weights files the JSON no longer
names removed. A kill between any two steps leaves a JSON whose weights file exists and holds what it held when
that JSON was written; leftovers of a killed run are overwritten or removed at the next update.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Callable

import torch

from nas.atomic_files import atomic_path

SUFFIX = ".pt"


def weights_file_name(path: Path, version: int) -> str:
    return f"{path.name}.weights-{version}{SUFFIX}"


def load_weights(path: Path, name: str) -> dict:
    """The tensors saved as `name` beside `path`; `weights_only` loads plain tensors and containers, no code."""
    return torch.load(Path(path).parent / name, map_location="cpu", weights_only=True)


class WeightsFiles:
    """Writes a sampler's weights beside its JSON once per version; remembers what is already on disk."""

    def __init__(self) -> None:
        self._on_disk: tuple[Path, int] | None = None  # (JSON path, version) whose weights file is written
        self._written_new = False

    def save(self, path: Path, version: int, tensors: Callable[[], dict]) -> str:
        """Write `tensors()` for `version` beside `path` unless this sampler already did; return the file's name.

        The version must change whenever the tensors do (the caller's update count); after a resume a stale file
        of the same version from the killed run may exist, which is why this decides from memory, not from disk.
        """
        name = weights_file_name(path, version)
        key = (Path(path).resolve(), version)
        if self._on_disk != key:
            with atomic_path(Path(path).parent / name) as temporary:
                torch.save(tensors(), temporary)
            self._on_disk = key
            self._written_new = True
        return name

    def loaded(self, path: Path, version: int) -> None:
        """The weights of `version` were just read from beside `path`: saving there need not write them again."""
        self._on_disk = (Path(path).resolve(), version)

    def remove_unnamed(self, path: Path, keep: str) -> None:
        """Remove weights files beside `path` other than `keep`; call only after the JSON naming `keep` is saved."""
        if not self._written_new:  # nothing new was written since the last clean-up
            return
        pattern = glob.escape(str(Path(path).parent / path.name)) + ".weights-*" + SUFFIX
        for old in glob.glob(pattern):
            if Path(old).name != keep:
                Path(old).unlink(missing_ok=True)
        self._written_new = False
