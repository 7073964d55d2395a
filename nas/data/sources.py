"""Dataset sources by name, and `load_dataset`: the one entry point from a dataset name and folder to a Dataset.

A source registers itself with `@register_dataset(name, recognises=...)`: `load(root, cache_dir, progress)`
returns a Dataset, and `recognises(root)` says how surely a folder is in its format (0: not at all), which is how
`--dataset auto` chooses. A new source is one new module in this package, or one a user names in `imports:`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nas.data.folder_scan import check_classes
from nas.data.image_set import Dataset
from nas.errors import DataError
from nas.registry import Registry

AUTO = "auto"
FALLBACK_DATASET = "cifar10"  # what `auto` loads when no source recognises the folder (torchvision downloads it)


@dataclass(frozen=True)
class DatasetSource:
    name: str
    load: Callable[..., Dataset]
    recognises: Callable[[Path], int]


# The built-in sources by module, not the whole nas.data package: every search's driver lists them before Ray starts,
# and the package's decoders and stream loader import torchvision (1-2 s). A new built-in source is added here.
DATASETS: Registry[DatasetSource] = Registry(
    "dataset", discover=("nas.data.cifar10_source", "nas.data.image_folder_source"), error=DataError)


def register_dataset(name: str, *, recognises: Callable[[Path], int] = lambda root: 0, replace: bool = False):
    """Function decorator: `load(root, cache_dir=None, progress=True) -> Dataset` becomes the source `name`."""

    def add(load: Callable[..., Dataset]) -> Callable[..., Dataset]:
        DATASETS.register(name, DatasetSource(name, load, recognises), replace=replace)
        return load

    return add


def dataset_choices() -> list[str]:
    return [AUTO, *DATASETS.names()]


def detect_dataset(root: str | Path) -> str:
    """The source that recognises the folder most surely; the fallback when none does."""
    root = Path(root)
    strength, name = max(((source.recognises(root), name) for name, source in DATASETS.items()),
                         key=lambda pair: pair[0])
    return name if strength > 0 else FALLBACK_DATASET


def load_dataset(name: str, root: str | Path, cache_dir: str | Path | None = None, progress: bool = True) -> Dataset:
    """Load the dataset source `name` (or `auto`) from `root`; small images come back decoded (cached on disk).

    `dataset.from_cache` says whether the decoded cache was reused.
    """
    if root is None or str(root) == "":
        raise DataError("no dataset folder given")
    if name == AUTO:
        name = detect_dataset(root)
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose from {', '.join(dataset_choices())}")
    dataset = DATASETS.get(name).load(root, cache_dir=cache_dir, progress=progress)
    check_classes(root, dataset.classes)  # the image-folder source checks before decoding; any other source here
    return dataset
