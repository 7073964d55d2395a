"""A scores table on disk: one CSV row per network, appended as each is scored, so a long run (every cell of
NAS-Bench-201) can be stopped at any time and resumed where it stopped.

Columns: `key` (what the network is: a benchmark arch string, a genotype's one-line form, a baseline's name), then
each proxy's value, then each proxy's seconds (`<proxy>_s`), then `reasons` (why a proxy could not score this
network, `;`-separated; empty when all could). A value is empty where its proxy failed.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Sequence

from nas.errors import ConfigError
from nas.zero_cost.scoring import NetworkScores

KEY = "key"
REASONS = "reasons"


def score_columns(proxies: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    return [KEY, *extra, *proxies, *(f"{proxy}_s" for proxy in proxies), REASONS]


def _as_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else repr(value)  # NaN -> empty; repr keeps every digit
    return str(value)


class ScoreTableWriter:
    """Appends rows to `path`; rows already there (same columns) are kept and their keys reported as done."""

    def __init__(self, path: str | Path, proxies: Sequence[str], extra: Sequence[str] = ()):
        self.path = Path(path)
        self.proxies = list(proxies)
        self.columns = score_columns(self.proxies, extra)
        self.done: set[str] = set()
        if self.path.exists() and self.path.stat().st_size > 0:
            self._resume()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write_line(self.columns)

    def _resume(self) -> None:
        text = self.path.read_text()
        if not text.endswith("\n"):  # stopped mid-row: drop the partial row
            text = text[: text.rfind("\n") + 1]
            self.path.write_text(text)
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or rows[0] != self.columns:
            found = ", ".join(rows[0]) if rows else "nothing"
            raise ConfigError(f"{self.path} holds other columns ({found}) than this run writes "
                              f"({', '.join(self.columns)}): give another --out, or the same proxies")
        self.done = {row[0] for row in rows[1:] if row}

    def _write_line(self, values: Sequence) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([_as_cell(value) for value in values])
        with open(self.path, "a", encoding="utf-8") as handle:  # one write per row: a crash loses at most that row
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, key: str, scores: NetworkScores, extra: Sequence = ()) -> None:
        reasons = "; ".join(scores.reasons[proxy] for proxy in self.proxies if proxy in scores.reasons)
        values = [key, *extra, *(scores.values.get(proxy) for proxy in self.proxies),
                  *(round(scores.seconds[proxy], 6) if proxy in scores.seconds else None for proxy in self.proxies),
                  reasons]
        self._write_line(values)
        self.done.add(key)
