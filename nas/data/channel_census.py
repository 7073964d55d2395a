"""One channel count for a folder whose images come in several modes: the majority kind (greyscale or colour)
decides, and the others are converted to it. Only each file's header is read, so every file is counted, not just
the first: a JPEG's frame header gives its component count directly (about 10 us a file), any other file is
opened lazily by PIL (about 40 us)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from nas.data.fork_pool import closed_when_done, fork_context, forks_allowed
from nas.data.image_open import opened_image
from nas.errors import DataError

# PIL modes by the kind they convert to without a choice to make. Alpha is dropped; a palette is expanded (it holds
# RGB entries, so it counts as colour).
GREY_MODES = frozenset({"1", "L", "LA", "La"})
COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"})
NATIVE_MODE = {1: "L", 3: "RGB"}  # the mode each channel count is stored in; other modes are converted
KIND_NAME = {1: "greyscale", 3: "RGB"}

POOL_MIN_FILES = 5000  # below this a process pool costs more to start than the header reads take
CHUNK_FILES = 2000


@dataclass(frozen=True)
class ChannelCensus:
    """How many files have each PIL mode, and the channel count the folder is decoded to."""

    modes: dict[str, int]
    channels: int

    @property
    def total(self) -> int:
        return sum(self.modes.values())

    @property
    def converted(self) -> int:
        return self.total - self.modes.get(NATIVE_MODE[self.channels], 0)

    def note(self) -> str | None:
        """The line saying how many images were converted, or None when none was."""
        if not self.converted:
            return None
        return (f"{self.converted} of {self.total} images converted to {KIND_NAME[self.channels]} "
                f"(the folder is mostly {KIND_NAME[self.channels]})")


# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); their 8th byte counts the components.
START_OF_FRAME = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}  # the mode PIL gives a JPEG of that many components
JPEG_HEADER_BYTES = 2048


def jpeg_mode(path: str) -> str | None:
    """The PIL mode of a JPEG file from its frame header, or None (not a JPEG, a header past the first bytes, an
    unusual component count, a file that cannot be read): then PIL decides, and reports a broken file."""
    try:
        with open(path, "rb") as file:
            head = file.read(JPEG_HEADER_BYTES)
    except OSError:
        return None  # PIL tries it next and names the file in the error
    if head[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 < len(head) and head[at] == 0xFF:
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in START_OF_FRAME:
            return JPEG_MODES.get(head[at + 9])
        at += 2 + ((head[at + 2] << 8) | head[at + 3])
    return None


def _modes_of(paths: list[str]) -> list[tuple[str, str]]:
    """(path, mode) for each file; an unreadable file is reported by its path."""
    found = []
    for path in paths:
        mode = jpeg_mode(path) if path.lower().endswith((".jpg", ".jpeg")) else None
        if mode is not None:
            found.append((path, mode))
            continue
        with opened_image(path) as image:
            found.append((path, image.mode))
    return found


def read_modes(paths: list[str], workers: int | None = None) -> list[tuple[str, str]]:
    workers = workers or os.cpu_count() or 1
    if len(paths) < POOL_MIN_FILES or workers == 1 or not forks_allowed():
        return _modes_of(paths)
    chunks = [paths[i : i + CHUNK_FILES] for i in range(0, len(paths), CHUNK_FILES)]
    with closed_when_done(fork_context().Pool(min(workers, len(chunks)))) as pool:
        return [pair for chunk in pool.imap(_modes_of, chunks) for pair in chunk]


def take_census(paths: list[str], where) -> ChannelCensus:
    """Count the modes of all `paths` and choose the channel count; refuse a folder no rule makes consistent."""
    modes: Counter[str] = Counter()
    example: dict[str, str] = {}
    for path, mode in read_modes(paths):
        modes[mode] += 1
        example.setdefault(mode, path)
    odd = sorted(mode for mode in modes if mode not in GREY_MODES | COLOUR_MODES)
    if odd:
        # 16-bit and float samples (I;16, I, F) have no one right scale to 8 bits: clipping or shifting are both guesses
        count = modes[odd[0]]
        raise DataError(f"{where} holds {count} image{'s' if count > 1 else ''} of PIL mode {odd[0]} (e.g. "
                        f"{example[odd[0]]}), which has no single conversion to 8-bit greyscale or RGB; convert "
                        f"to 8-bit images first")
    grey = sum(count for mode, count in modes.items() if mode in GREY_MODES)
    colour = sum(modes.values()) - grey
    if grey == colour:
        # Neither kind is the folder's: converting either half would be a guess about what the data is
        raise DataError(f"{where} holds as many greyscale as colour images ({grey} each, e.g. "
                        f"{example_of(example, GREY_MODES)}): no majority to convert the others to; convert the "
                        f"folder to one kind")
    return ChannelCensus(modes=dict(modes), channels=3 if colour > grey else 1)


def example_of(example: dict[str, str], kind: frozenset[str]) -> str:
    return next(path for mode, path in sorted(example.items()) if mode in kind)
