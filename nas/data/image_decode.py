"""Decoding many small image files into one uint8 tensor, with PIL and a process pool.

PIL, not torchvision.io: the channel census (channel_census.py) already reads every file's PIL mode, so the
conversions below follow the modes it counted; torchvision 0.29 marks its decoders deprecated; and importing
torchvision (which brings torch._dynamo) cost every search's driver 1-2 s of CPU while Ray and its workers start.
Both use libjpeg-turbo with the same defaults: on all 60,000 CIFAR-10 JPEGs the pixels are the same, byte for byte
(checked once; tests/test_data_on_demand.py checks small JPEG and PNG files, colour and grey)."""

from __future__ import annotations

import os

import numpy as np
import torch

from nas.data.channel_census import NATIVE_MODE
from nas.data.fork_pool import closed_when_done, fork_context, forks_allowed
from nas.data.image_open import opened_image
from nas.errors import DataError

# Below this many files a pool costs more to start than it saves.
POOL_MIN_FILES = 2000
CHUNK_FILES = 1000


def decode_one(path: str, channels: int | None = None) -> torch.Tensor:
    """One file as uint8 C x H x W, with `channels` (1 or 3; None: as stored, for a mode of 1 or 3 channels). Other
    modes convert as the census counts them: alpha dropped, a palette expanded, colour to grey by PIL's ITU-R 601
    luma (a JPEG straight from its decoder's luma, as libjpeg gives it). A file PIL cannot read is the user's
    DataError, named (nas.data.image_open)."""
    with opened_image(path) as image:
        mode = NATIVE_MODE[channels] if channels else image.mode
        if image.mode != mode:
            image.draft(mode, image.size)  # a JPEG decodes straight to grey; other formats ignore this
            image = image.convert(mode)
        pixels = np.asarray(image)
    if pixels.dtype != np.uint8:  # 16-bit or float samples: the census refuses them first (channel_census.py)
        raise DataError(f"cannot read image {path}: PIL mode {mode} is not 8-bit")
    pixels = torch.from_numpy(pixels.copy())
    return pixels.unsqueeze(0) if pixels.dim() == 2 else pixels.permute(2, 0, 1).contiguous()


def probe_size(path: str) -> tuple[int, int]:
    """(height, width) of the first image, which every other image is resized to (read from its header). The
    channel count is not the first image's but the folder's majority (channel_census.py)."""
    with opened_image(path) as image:
        width, height = image.size
    return int(height), int(width)


def resized(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    # torchvision only for the rare image of another size: its antialiased resize, as before the decoder moved
    # to PIL, so the same files give the same pixels.
    from torchvision.transforms.v2 import functional as TF

    return TF.resize(image, [height, width], antialias=True)


def _decode_chunk(args: tuple[list[str], int, int, int]) -> tuple[torch.Tensor, int]:
    paths, channels, height, width = args
    torch.set_num_threads(1)  # one process per core already
    out = torch.empty((len(paths), channels, height, width), dtype=torch.uint8)
    resized_count = 0
    for i, path in enumerate(paths):
        image = decode_one(path, channels)
        if image.shape[1:] != (height, width):
            image = resized(image, height, width)
            resized_count += 1
        out[i] = image
    return out, resized_count


def decode_files(paths: list[str], channels: int, height: int, width: int, workers: int | None = None,
                 progress=None) -> tuple[torch.Tensor, int]:
    """All files as one uint8 N x C x H x W tensor, and how many had to be resized to the first image's size."""
    if not paths:
        return torch.empty((0, channels, height, width), dtype=torch.uint8), 0
    chunks = [(paths[i : i + CHUNK_FILES], channels, height, width) for i in range(0, len(paths), CHUNK_FILES)]
    workers = workers or os.cpu_count() or 1
    results = []
    if len(paths) < POOL_MIN_FILES or workers == 1 or not forks_allowed():
        for chunk in chunks:
            results.append(_decode_chunk(chunk))
            if progress is not None:
                progress(len(chunk[0]))
    else:
        # fork: workers start at once and inherit the imported torch; they only decode, no threads to break.
        with closed_when_done(fork_context().Pool(min(workers, len(chunks)))) as pool:
            for result, chunk in zip(pool.imap(_decode_chunk, chunks), chunks):
                results.append(result)
                if progress is not None:
                    progress(len(chunk[0]))
    pixels = torch.cat([r[0] for r in results])
    return pixels, sum(r[1] for r in results)
