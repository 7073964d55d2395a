"""Write files so that a crash leaves the old file or the new one, never half of either.

Every writer in the engine goes through `atomic_path`: it hands out a temporary path in the target's folder, and
when the block succeeds the data is flushed to disk and renamed over the target (a rename within one folder is
atomic). The temporary file keeps the target's suffix, so writers that infer a format from it (savefig) work.

Commands check where they will write (`check_writable_folder`, `check_writable_file`) before their expensive
work, so an output place that cannot be written fails in one line before any data is loaded or trained on.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from nas.errors import ConfigError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """`with atomic_path(target) as temporary: torch.save(obj, temporary)` writes `target` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes files private; results are meant to be shared
    try:
        yield Path(temporary)
        with open(temporary, "rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_bytes_atomic(path, data: bytes) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def check_writable_folder(folder, what: str, files_too: bool = False) -> None:
    """Refuse `folder` unless files can be written in it: judged by the nearest folder that exists (it or one
    above it, where the missing ones would be made); a file in the way or a folder without write permission is a
    ConfigError naming `what` (the flag or key that chose the place). `files_too`: the files already in it must
    be writable as well (a database updated in place)."""
    folder = Path(folder)
    _refuse_unwritable(folder, folder, what)
    if files_too and folder.is_dir():
        for file in sorted(folder.iterdir()):
            if file.is_file() and not os.access(file, os.W_OK):
                raise ConfigError(f"{what} {folder}: {file.name} is read-only")


def check_writable_file(path, what: str) -> None:
    """Refuse a file `path` that could not be written: a folder of that name, or a folder that cannot be."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder, not a file")
    _refuse_unwritable(path.parent, path, what)


def _refuse_unwritable(folder: Path, subject: Path, what: str) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        reason = "is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = "is read-only"
    else:
        return
    raise ConfigError(f"{what} {subject} {reason}" if existing == subject else
                      f"{what} {subject}: {existing} {reason}")
