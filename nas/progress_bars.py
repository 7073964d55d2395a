"""Progress bars, drawn on a terminal only.

A bar redraws itself with carriage returns. In a log file or a pipe those stay in the text, so the one line of
an error that follows a bar would read as several; there a bar says nothing anyway. tqdm's `disable=None` draws
only when its stream is a terminal. Bars leave nothing behind (`leave=False`), so an error starts its own line.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(enabled: bool = True, **options) -> tqdm:
    """A tqdm bar on stderr that shows only on a terminal, and only when `enabled`."""
    options = {"file": sys.stderr, "leave": False, **options}
    return tqdm(disable=None if enabled else True, **options)
