"""Opening one image file with PIL, for the census, the decoder and the stream loader alike: a file PIL cannot
read is the user's DataError, naming the file, in one line."""

from __future__ import annotations

import contextlib
from typing import Iterator

from PIL import Image

from nas.errors import DataError

# What PIL raises for a file it cannot read: missing or truncated (OSError), not an image or a broken header
# (ValueError, SyntaxError from some format plugins), too many pixels (DecompressionBombError).
UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@contextlib.contextmanager
def opened_image(path: str) -> Iterator[Image.Image]:
    """The image at `path`, open for the block; what PIL raises reading it, in the block too (decoding is lazy),
    comes out as DataError."""
    try:
        with Image.open(path) as image:
            yield image
    except UNREADABLE as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"cannot read image {path}: {reason}") from None
