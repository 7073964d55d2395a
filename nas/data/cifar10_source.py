"""CIFAR-10 through torchvision (the pickled batches, downloaded when online), or an image-folder copy of it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from nas.data.folder_scan import fingerprint
from nas.data.image_folder_source import load_image_folder
from nas.data.image_set import Dataset, ImageSet
from nas.data.sources import register_dataset
from nas.data.tensor_cache import cache_file, default_cache_dir, load_cached, save_cached
from nas.errors import DataError

log = logging.getLogger("nas.data")

BATCHES_FOLDER = "cifar-10-batches-py"


def _has_pickled_batches(root: Path) -> int:
    return 2 if (root / BATCHES_FOLDER).is_dir() else 0  # surer than a bare train/ folder


@register_dataset("cifar10", recognises=_has_pickled_batches)
def load_cifar10(root: str | Path, cache_dir: str | Path | None = None, progress: bool = True) -> Dataset:
    root = Path(root).expanduser().resolve()
    if root.name == BATCHES_FOLDER:
        root = root.parent
    if (root / "train").is_dir():  # an extracted image-folder copy such as cifar10-jpeg.tar.gz
        return load_image_folder(root, cache_dir, name="cifar10", progress=progress)
    if not (root / BATCHES_FOLDER).is_dir():
        _download(root)

    batch_files = sorted((root / BATCHES_FOLDER).iterdir())
    key = fingerprint(
        ["cifar10 pickled batches"],
        [f"{p.name}\t{p.stat().st_size}\t{p.stat().st_mtime_ns}" for p in batch_files],
    )
    path = cache_file(Path(cache_dir) if cache_dir else default_cache_dir(), "cifar10-batches", key)
    started = time.perf_counter()
    bundle = load_cached(path)
    from_cache = bundle is not None
    if from_cache:
        log.info("loaded cifar10 from cache %s in %.2f s", path, time.perf_counter() - started)
    else:
        bundle = _read_batches(root)
        save_cached(path, bundle)
        log.info("read cifar10 batches in %.1f s; cached at %s", time.perf_counter() - started, path)
    return Dataset(
        name="cifar10", root=str(root), classes=list(bundle["classes"]),
        train=ImageSet(labels=bundle["train_labels"], pixels=bundle["train_pixels"], origin="train"),
        test=ImageSet(labels=bundle["test_labels"], pixels=bundle["test_pixels"], origin="test"),
        channels=3, image_size=32, mean=None, std=None,  # the training split's (nas.data.splits.normalisation)
        from_cache=from_cache, cache_path=str(path),
    )


def _download(root: Path) -> None:
    existed = root.exists()
    created = [p for p in [root, *root.parents] if not p.exists()]  # folders torchvision will make
    # torchvision is imported where it is used: every search's driver lists this source before Ray starts, and
    # importing torchvision there costs it 1-2 s.
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(str(root), train=True, download=True)
    except Exception as error:  # offline, disk full, bad checksum: all the user's to fix
        for folder in created:  # leave no empty folders behind from a failed download
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        where = f"dataset folder {root} does not exist" if not existed else (
            f"CIFAR-10 not found at {root} (neither {BATCHES_FOLDER}/ nor train/<class>/ folders)")
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{where}, and downloading CIFAR-10 failed: {reason}") from None


def _read_batches(root: Path) -> dict:
    from torchvision.datasets import CIFAR10  # here, not at the top: see _download

    try:
        train = CIFAR10(str(root), train=True, download=False)
        test = CIFAR10(str(root), train=False, download=False)
    except RuntimeError as error:  # torchvision: "Dataset not found or corrupted"
        raise DataError(f"CIFAR-10 batches at {root / BATCHES_FOLDER} are incomplete or corrupted: {error}") from None
    to_pixels = lambda data: torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()  # noqa: E731  NHWC -> NCHW
    return {
        "classes": list(train.classes),
        "train_pixels": to_pixels(train.data),
        "train_labels": torch.tensor(train.targets, dtype=torch.long),
        "test_pixels": to_pixels(test.data),
        "test_labels": torch.tensor(test.targets, dtype=torch.long),
    }
