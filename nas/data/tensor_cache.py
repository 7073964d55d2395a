"""On-disk cache of decoded datasets: one torch file per source fingerprint, written atomically."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from nas.atomic_files import atomic_path

log = logging.getLogger("nas.data")

CACHE_FORMAT = 1  # bump when the stored layout changes, so old caches are re-made rather than misread


def default_cache_dir() -> Path:
    """$NAS_CACHE_DIR, else ~/.cache/nas/datasets: the data folder itself may be read-only or shared."""
    env = os.environ.get("NAS_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nas" / "datasets"


def cache_file(cache_dir: Path, kind: str, key: str) -> Path:
    return Path(cache_dir) / f"{kind}-v{CACHE_FORMAT}-{key[:24]}.pt"


def load_cached(path: Path) -> dict | None:
    """The cached bundle, or None when absent or unreadable (then the caller decodes again)."""
    if not path.exists():
        return None
    try:
        # mmap: the pixels are paged in on use, so loading is a fraction of a second even for 180 MB
        bundle = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # a truncated or foreign file: re-decode instead of failing the run
        log.warning("ignoring unreadable dataset cache %s (%s)", path, error)
        return None
    if not isinstance(bundle, dict) or bundle.get("format") != CACHE_FORMAT:
        return None
    return bundle


def save_cached(path: Path, bundle: dict) -> None:
    """Write the cache; a cache folder that cannot be written costs a decode next time, not the run."""
    try:
        with atomic_path(path) as temporary:
            torch.save({**bundle, "format": CACHE_FORMAT}, temporary)
    except OSError as error:
        log.warning("cannot write the dataset cache %s (%s); the images will be decoded again next time", path,
                    error.strerror or error)
