"""`load_dataset`: the one entry point from a dataset name and folder to a Dataset."""

from __future__ import annotations

from pathlib import Path

from nas.data.cifar10_source import load_cifar10
from nas.data.image_folder_source import load_image_folder
from nas.data.image_set import Dataset
from nas.errors import DataError

SOURCES = {
    "cifar10": load_cifar10,
    "imagefolder": load_image_folder,
}


def detect_dataset(root: str | Path) -> str:
    """'auto': an image-folder tree (a train/ folder of class folders) or else CIFAR-10's own batches."""
    root = Path(root)
    if (root / "train").is_dir() and not (root / "cifar-10-batches-py").exists():
        return "imagefolder"
    return "cifar10"


def load_dataset(name: str, root: str | Path, cache_dir: str | Path | None = None, progress: bool = True) -> Dataset:
    """Load `name` ('cifar10' or 'imagefolder') from `root`; small images come back decoded (cached on disk).

    `dataset.from_cache` says whether the decoded cache was reused.
    """
    if root is None or str(root) == "":
        raise DataError("no dataset folder given")
    if name == "auto":
        name = detect_dataset(root)
    if name not in SOURCES:
        raise DataError(f"unknown dataset {name!r}; choose from auto, {', '.join(SOURCES)}")
    return SOURCES[name](root, cache_dir=cache_dir, progress=progress)
