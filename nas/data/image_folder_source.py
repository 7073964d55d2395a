"""Any image-folder tree (ROOT/train/<class>/*, ROOT/test|val/<class>/*): small images decoded once and cached,
large ones (ImageNet-size) left as files to stream through a DataLoader."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from nas.data.folder_scan import check_root, find_test_dir, fingerprint, list_split
from nas.data.image_decode import decode_files, probe
from nas.data.image_set import Dataset, ImageSet
from nas.data.pixel_stats import channel_mean_std, default_stats
from nas.data.sources import register_dataset
from nas.data.tensor_cache import cache_file, default_cache_dir, load_cached, save_cached
from nas.progress_bars import progress_bar

log = logging.getLogger("nas.data")

# Images up to this side are decoded into memory (CIFAR 32, Tiny-ImageNet 64, STL 96); larger ones are streamed.
MAX_IN_MEMORY_SIDE = 96
STREAMED_CROP = 224


def _has_train_folder(root: Path) -> int:
    return 1 if (root / "train").is_dir() else 0


@register_dataset("imagefolder", recognises=_has_train_folder)
def load_image_folder(root: str | Path, cache_dir: str | Path | None = None, name: str = "imagefolder",
                      progress: bool = True) -> Dataset:
    root = check_root(Path(root).expanduser().resolve())
    train_listing = list_split(root / "train")
    test_dir = find_test_dir(root)
    test_listing = list_split(test_dir, train_listing.classes) if test_dir else None
    channels, height, width = probe(train_listing.files[0])

    if max(height, width) > MAX_IN_MEMORY_SIDE:
        mean, std = default_stats(channels)
        to_set = lambda listing, origin: ImageSet(  # noqa: E731
            labels=torch.tensor(listing.labels, dtype=torch.long), paths=listing.files, origin=origin)
        return Dataset(
            name=name, root=str(root), classes=train_listing.classes,
            train=to_set(train_listing, "train"),
            test=to_set(test_listing, "test") if test_listing else None,
            channels=channels, image_size=min(STREAMED_CROP, height, width), mean=mean, std=std,
        )

    # The key leaves out `name`: 'cifar10' and 'imagefolder' over the same folder share one cache.
    key = fingerprint(
        [f"channels={channels} size={height}x{width}"],
        train_listing.fingerprint_lines(),
        test_listing.fingerprint_lines() if test_listing else [],
    )
    path = cache_file(Path(cache_dir) if cache_dir else default_cache_dir(), "imagefolder", key)
    started = time.perf_counter()
    bundle = load_cached(path)
    from_cache = bundle is not None
    if from_cache:
        log.info("loaded %s from cache %s in %.2f s", name, path, time.perf_counter() - started)
    else:
        bundle = _decode_tree(train_listing, test_listing, channels, height, width, progress)
        save_cached(path, bundle)
        log.info("decoded %s in %.1f s; cached at %s", name, time.perf_counter() - started, path)

    return Dataset(
        name=name, root=str(root), classes=list(bundle["classes"]),
        train=ImageSet(labels=bundle["train_labels"], pixels=bundle["train_pixels"], origin="train"),
        test=(ImageSet(labels=bundle["test_labels"], pixels=bundle["test_pixels"], origin="test")
              if bundle.get("test_pixels") is not None else None),
        channels=channels, image_size=height, mean=tuple(bundle["mean"]), std=tuple(bundle["std"]),
        from_cache=from_cache, cache_path=str(path),
    )


def _decode_tree(train_listing, test_listing, channels, height, width, progress) -> dict:
    total = len(train_listing.files) + (len(test_listing.files) if test_listing else 0)
    with progress_bar(progress, total=total, desc="decoding images", unit="img") as bar:
        train_pixels, resized = decode_files(train_listing.files, channels, height, width, progress=bar.update)
        test_pixels = None
        if test_listing:
            test_pixels, resized_test = decode_files(test_listing.files, channels, height, width, progress=bar.update)
            resized += resized_test
    if resized:
        log.warning("%d images were not %dx%d and were resized to it", resized, height, width)
    mean, std = channel_mean_std(train_pixels)
    return {
        "classes": train_listing.classes,
        "train_pixels": train_pixels,
        "train_labels": torch.tensor(train_listing.labels, dtype=torch.long),
        "test_pixels": test_pixels,
        "test_labels": torch.tensor(test_listing.labels, dtype=torch.long) if test_listing else None,
        "mean": list(mean),
        "std": list(std),
    }
