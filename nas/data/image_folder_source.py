"""Any image-folder tree (ROOT/train/<class>/*, ROOT/test|val/<class>/*): small images decoded when a split first
uses them and cached (nas.data.folder_pixels), large ones (ImageNet-size) left as files to stream through a
DataLoader."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from nas.data.channel_census import ChannelCensus, take_census
from nas.data.folder_scan import check_root, find_test_dir, fingerprint, list_split
from nas.data.folder_pixels import FolderDecoder, FolderPixelCache
from nas.data.image_decode import probe_size
from nas.data.image_set import Dataset, ImageSet
from nas.data.pixel_stats import default_stats
from nas.data.sources import register_dataset
from nas.data.tensor_cache import cache_file, default_cache_dir, load_cached, save_cached

log = logging.getLogger("nas.data")

# Images up to this side are decoded into memory (CIFAR 32, Tiny-ImageNet 64, STL 96); larger ones are streamed.
MAX_IN_MEMORY_SIDE = 96
STREAMED_CROP = 224
# In the cache keys: caches decoded when the first file decided the channels must not be reused.
CHANNEL_RULE = "channels: the majority of all files"
# In the decoded-image cache's key: images decoded by torchvision.io (before) may differ from PIL's where a mode is
# converted (colour PNG to grey), so those caches are not reused.
DECODER = "decoder: PIL"


def _has_train_folder(root: Path) -> int:
    return 1 if (root / "train").is_dir() else 0


@register_dataset("imagefolder", recognises=_has_train_folder)
def load_image_folder(root: str | Path, cache_dir: str | Path | None = None, name: str = "imagefolder",
                      progress: bool = True) -> Dataset:
    root = check_root(Path(root).expanduser().resolve())
    train_listing = list_split(root / "train")
    test_dir = find_test_dir(root)
    test_listing = list_split(test_dir, train_listing.classes) if test_dir else None
    height, width = probe_size(train_listing.files[0])
    listings = [train_listing, *([test_listing] if test_listing else [])]
    file_lines = [listing.fingerprint_lines() for listing in listings]
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()

    if max(height, width) > MAX_IN_MEMORY_SIDE:
        census = _streamed_census(listings, cache_dir, fingerprint([CHANNEL_RULE], *file_lines), root)
        mean, std = default_stats(census.channels)
        to_set = lambda listing, origin: ImageSet(  # noqa: E731
            labels=torch.tensor(listing.labels, dtype=torch.long), paths=listing.files, origin=origin)
        return Dataset(
            name=name, root=str(root), classes=train_listing.classes,
            train=to_set(train_listing, "train"),
            test=to_set(test_listing, "test") if test_listing else None,
            channels=census.channels, image_size=min(STREAMED_CROP, height, width), mean=mean, std=std,
            notes=_notes(census),
        )

    # The key leaves out `name`: 'cifar10' and 'imagefolder' over the same folder share one cache.
    key = fingerprint([f"{CHANNEL_RULE} size={height}x{width}", DECODER], *file_lines)
    cache = FolderPixelCache(cache_file(cache_dir, "imagefolder-decoded", key))
    census = cache.census
    if census is None:
        started = time.perf_counter()
        census = take_census([file for listing in listings for file in listing.files], root)
        cache.keep_census(census)
        log.info("read the modes of %d files in %.2f s", census.total, time.perf_counter() - started)
    else:
        log.info("%s: census and decoded images from cache %s", name, cache.path)

    def pending(listing, split: str) -> ImageSet:
        """The split's files, decoded when a split of the data first uses them (nas.data.folder_pixels)."""
        decoder = FolderDecoder(cache, split, listing.files, census.channels, height, width, progress)
        return ImageSet(labels=torch.tensor(listing.labels, dtype=torch.long), paths=listing.files, origin=split,
                        decoder=decoder)

    return Dataset(
        name=name, root=str(root), classes=train_listing.classes,
        train=pending(train_listing, "train"),
        test=pending(test_listing, "test") if test_listing else None,
        channels=census.channels, image_size=height, mean=None, std=None,  # the training split's, when made
        from_cache=cache.found, cache_path=str(cache.path), notes=_notes(census),
    )


def _notes(census: ChannelCensus) -> list[str]:
    note = census.note()
    return [note] if note else []


def _streamed_census(listings, cache_dir: Path, key: str, root: Path) -> ChannelCensus:
    """The census of a streamed folder, kept in the cache: reading a million headers takes a minute."""
    path = cache_file(cache_dir, "imagefolder-modes", key)
    bundle = load_cached(path)
    if bundle is not None and "modes" in bundle:
        return ChannelCensus(modes=dict(bundle["modes"]), channels=int(bundle["channels"]))
    census = take_census([file for listing in listings for file in listing.files], root)
    save_cached(path, {"modes": census.modes, "channels": census.channels})
    return census
