"""Decoding many small image files into one uint8 tensor, with torchvision.io and a process pool."""

from __future__ import annotations

import os
import warnings

import torch
from torchvision.io import ImageReadMode, decode_image, read_file
from torchvision.transforms.v2 import functional as TF

from nas.data.fork_pool import closed_when_done, fork_context, forks_allowed
from nas.errors import DataError

# Below this many files a pool costs more to start than it saves.
POOL_MIN_FILES = 2000
CHUNK_FILES = 1000


def read_mode(channels: int) -> ImageReadMode:
    return ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB


# torchvision 0.29 marks its decoders deprecated in favour of TorchCodec, which is not a dependency here.
DECODER_DEPRECATION = "The image decoding and encoding capabilities of TorchVision are deprecated"


def decode_one(path: str, mode: ImageReadMode = ImageReadMode.UNCHANGED) -> torch.Tensor:
    """Decode one file to uint8 C x H x W; a file torchvision cannot read is the user's DataError, named."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=DECODER_DEPRECATION, category=DeprecationWarning)
            return decode_image(read_file(path), mode=mode)
    except (RuntimeError, ValueError, OSError) as error:
        raise DataError(f"cannot read image {path}: {str(error).splitlines()[0]}") from None


def probe_size(path: str) -> tuple[int, int]:
    """(height, width) of the first image, which every other image is resized to. The channel count is not the
    first image's but the folder's majority (channel_census.py)."""
    image = decode_one(path)
    return int(image.shape[1]), int(image.shape[2])


def match_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """The decoders ignore the asked-for mode for some formats (GIF and WebP come back RGB when asked for grey)."""
    if image.shape[0] == channels:
        return image
    if channels == 1:
        return TF.rgb_to_grayscale(image[:3])
    return image[:3] if image.shape[0] >= 3 else image[:1].expand(3, -1, -1)  # RGBA: drop alpha; grey(+alpha): repeat


def _decode_chunk(args: tuple[list[str], int, int, int]) -> tuple[torch.Tensor, int]:
    paths, channels, height, width = args
    torch.set_num_threads(1)  # one process per core already
    out = torch.empty((len(paths), channels, height, width), dtype=torch.uint8)
    resized = 0
    mode = read_mode(channels)
    for i, path in enumerate(paths):
        image = match_channels(decode_one(path, mode), channels)
        if image.shape[1:] != (height, width):
            image = TF.resize(image, [height, width], antialias=True)
            resized += 1
        out[i] = image
    return out, resized


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
