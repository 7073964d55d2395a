"""The decoded images of an image folder, decoded when a split first uses them and kept in one cache file per
folder version: a search of 2,000 images decodes those 2,000, not the folder's 60,000, and a later run decodes
only what it uses that no run decoded before.

The file (nas.data.tensor_cache) holds the folder's channel census and, per split of the folder ('train',
'test'), the positions decoded so far (sorted) and their pixels. It is rewritten, atomically, each time images are
added; two processes adding at once may drop each other's additions, which costs a decode later, never a result.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from nas.data.channel_census import ChannelCensus
from nas.data.image_decode import decode_files
from nas.data.tensor_cache import load_cached, save_cached
from nas.progress_bars import progress_bar

log = logging.getLogger("nas.data")


class FolderPixelCache:
    """One folder version's cache file: its census and the images decoded so far, per split."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.bundle = load_cached(self.path) or {}
        self.found = "modes" in self.bundle  # the folder was seen before (its census at least is cached)

    @property
    def census(self) -> ChannelCensus | None:
        if not self.found:
            return None
        return ChannelCensus(modes=dict(self.bundle["modes"]), channels=int(self.bundle["channels"]))

    def keep_census(self, census: ChannelCensus) -> None:
        self.bundle.update(modes=census.modes, channels=census.channels)
        save_cached(self.path, self.bundle)

    def decoded(self, split: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(sorted positions, their pixels) of `split` decoded so far."""
        positions = self.bundle.get(f"{split}_positions")
        if positions is None:
            return torch.empty(0, dtype=torch.long), None
        return positions, self.bundle[f"{split}_pixels"]

    def add(self, split: str, positions: torch.Tensor, pixels: torch.Tensor) -> None:
        """Keep `pixels` of `positions` (none of them cached yet) beside what the file holds, and write it."""
        known, known_pixels = self.decoded(split)
        if known_pixels is not None:
            positions, pixels = torch.cat([known, positions]), torch.cat([known_pixels, pixels])
        order = torch.argsort(positions)
        self.bundle[f"{split}_positions"] = positions[order].contiguous()
        self.bundle[f"{split}_pixels"] = pixels[order].contiguous()
        save_cached(self.path, self.bundle)


class FolderDecoder:
    """Decodes the files of one split of a folder on demand (ImageSet.decoder), through the folder's cache."""

    def __init__(self, cache: FolderPixelCache, split: str, files: list[str], channels: int, height: int,
                 width: int, progress: bool = True):
        self.cache, self.split, self.files = cache, split, files
        self.channels, self.height, self.width, self.progress = channels, height, width, progress
        self.decoded_now = 0  # images this process decoded (the rest came from the cache)

    def __getstate__(self):
        raise TypeError("a folder decoder stays in the process that reads the folder: decode a split before sending "
                        "it (ImageSet.decoded())")

    def pixels(self, positions: torch.Tensor) -> torch.Tensor:
        """uint8 N x C x H x W of the files at `positions`, in that order."""
        positions = torch.as_tensor(positions, dtype=torch.long)
        wanted = torch.unique(positions)  # sorted
        known, known_pixels = self.cache.decoded(self.split)
        cached = torch.isin(wanted, known)
        missing = wanted[~cached]
        if len(missing):
            started = time.perf_counter()
            with progress_bar(self.progress and len(missing) >= 5000, total=len(missing), desc="decoding images",
                              unit="img") as bar:
                new_pixels, resized = decode_files([self.files[i] for i in missing.tolist()], self.channels,
                                                   self.height, self.width, progress=bar.update)
            if resized:
                log.warning("%d images were not %dx%d and were resized to it", resized, self.height, self.width)
            log.info("decoded %d %s images in %.2f s", len(missing), self.split, time.perf_counter() - started)
            self.decoded_now += len(missing)
            self.cache.add(self.split, missing, new_pixels)
            known, known_pixels = self.cache.decoded(self.split)
        # Every wanted position is now among the sorted `known`: look each up there.
        return known_pixels[torch.searchsorted(known, positions)].contiguous()
