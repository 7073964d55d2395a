"""The NAS-Bench-201 scores table: zero-cost proxies of every benchmark cell, joined from the scoring shards, and
read back for `nas bench nasbench201 --scores` (which answers a proxy from it instead of scoring a network).

benchmarks/nasbench201_scores.py writes shards in out/shards/, named by the proxies they hold (e.g.
`params-macs-synflow-*.csv` over all cells, `cheap-*.csv` and `expensive-*.csv` over a uniform sample), each a
ScoreTableWriter file (key = the benchmark's arch string, index = its row in the benchmark). `merge_score_files` joins them on the key into one table beside a YAML
file that says how it was made; `read_scores_table` reads it back, checked to be a table of this space. The table
holds proxies and the seconds they took, never an accuracy: a search guided by it cannot peek at the benchmark.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from nas.atomic_files import atomic_path, write_text_atomic
from nas.errors import ConfigError
from nas.space.nasbench201 import NasBench201Space
from nas.zero_cost.registry import PROXIES, proxy_names
from nas.zero_cost.score_table import KEY, REASONS

SCORES_FILE = "nasbench201_scores.csv"
PROVENANCE_FILE = "nasbench201_scores.yaml"
INDEX = "index"
SECONDS_SUFFIX = "_s"
# benchmarks/nasbench201_scores.py names a shard <proxies>-b<batch size>-s<seed>-<K>of<N>.csv
SHARD_NAME = re.compile(r"^(?P<label>.+)-b(?P<batch>\d+)-s(?P<seed>\d+)-(?P<shard>\d+)of(?P<shards>\d+)\.csv$")


def proxy_columns(columns: Sequence[str]) -> list[str]:
    """The proxies of a scores table: the columns with a seconds column beside them (`<proxy>_s`)."""
    present = set(columns)
    return [column for column in columns if f"{column}{SECONDS_SUFFIX}" in present]


def _numbers(values: pd.Series) -> pd.Series:
    """A column of scores or seconds as floats: an empty cell (the proxy failed, or never scored it) is NaN."""
    return pd.to_numeric(values.replace("", np.nan), errors="coerce")


def _complete_rows(path: Path) -> io.StringIO:
    """The file up to its last full line: a shard still being written may end mid-row, which the merge leaves out."""
    text = path.read_text(encoding="utf-8")
    return io.StringIO(text[: text.rfind("\n") + 1])


def _read_shards(files: Sequence[Path]) -> pd.DataFrame:
    frames = [pd.read_csv(_complete_rows(path), dtype={KEY: str, REASONS: str}, keep_default_na=False)
              for path in files]
    frame = pd.concat(frames, ignore_index=True)
    proxies = proxy_columns(list(frame.columns))
    for column in [*proxies, *(f"{proxy}{SECONDS_SUFFIX}" for proxy in proxies)]:
        frame[column] = _numbers(frame[column])
    # A shard rerun after a crash may repeat a cell: its first score stands.
    return frame.drop_duplicates(KEY, keep="first")


def shard_groups(folder: Path) -> dict[str, list[Path]]:
    """The shard files in `folder` by the proxies they hold (the label their names start with), the group with
    the most rows first: where two groups scored the same proxy on a cell, the first one's score stands."""
    groups: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).glob("*.csv")):
        match = SHARD_NAME.match(path.name)
        if match:
            groups.setdefault(match["label"], []).append(path)
    rows = {label: sum(len(pd.read_csv(path, usecols=[KEY])) for path in files) for label, files in groups.items()}
    return dict(sorted(groups.items(), key=lambda item: -rows[item[0]]))


def merge_score_files(out: Path, table: Path, *, made_with: Mapping[str, object] | None = None) -> Path:
    """Join the shards in out/shards/ (<proxies>-b<batch>-s<seed>-<K>of<N>.csv) on the arch string into
    out/nasbench201_scores.csv (one row per cell any shard scored, in the benchmark's order), written atomically,
    and out/nasbench201_scores.yaml: how it was made (`made_with`: the scoring commands, memory format, machine,
    ...), the benchmark table's checksum, and how many cells each proxy covers."""
    out, table = Path(out), Path(table)
    groups = shard_groups(out / "shards")
    if not groups:
        raise ConfigError(f"no shard files (<proxies>-b<batch>-s<seed>-<K>of<N>.csv) in {out / 'shards'}")
    if not table.is_file():
        raise ConfigError(f"benchmark table {str(table)!r} does not exist")
    archs = pd.read_csv(table, usecols=[INDEX, "arch"]).set_index(INDEX)["arch"]
    frames = [_read_shards(files).set_index(KEY) for files in groups.values()]
    keys = frames[0].index
    for frame in frames[1:]:
        keys = keys.union(frame.index, sort=False)
    merged = pd.DataFrame(index=keys)
    merged[INDEX] = np.nan
    reasons = []
    for frame in frames:
        merged[INDEX] = merged[INDEX].fillna(frame[INDEX].reindex(keys))
        reasons.append(frame[REASONS].reindex(keys).fillna(""))
        for proxy in proxy_columns(list(frame.columns)):
            seconds = f"{proxy}{SECONDS_SUFFIX}"
            if proxy not in merged:
                merged[proxy] = merged[seconds] = np.nan
            take = merged[seconds].isna() & frame[seconds].reindex(keys).notna()  # not scored by a group before
            merged.loc[take, proxy] = frame[proxy].reindex(keys)[take]
            merged.loc[take, seconds] = frame[seconds].reindex(keys)[take]
    merged = merged.reset_index(names=KEY).astype({INDEX: int})
    wrong = merged[archs.reindex(merged[INDEX]).to_numpy() != merged[KEY].to_numpy()]
    if len(wrong):
        row = wrong.iloc[0]
        raise ConfigError(f"shard row {row[KEY]} has index {row[INDEX]}, where {table.name} has "
                          f"{archs.get(row[INDEX], 'no row')}: the shards were not scored from this table")
    merged[REASONS] = ["; ".join(dict.fromkeys(text for text in texts if text)) for texts in zip(*reasons)]
    found = proxy_columns(list(merged.columns))
    proxies = [name for name in proxy_names() if name in found] + [name for name in found if name not in PROXIES]
    columns = [KEY, INDEX, *proxies, *(f"{proxy}{SECONDS_SUFFIX}" for proxy in proxies), REASONS]
    merged = merged[columns].sort_values(INDEX)
    path = out / SCORES_FILE
    with atomic_path(path) as temporary:
        merged.to_csv(temporary, index=False)
    provenance = _provenance(groups, merged, proxies, table, made_with or {})
    write_text_atomic(out / PROVENANCE_FILE, yaml.safe_dump(provenance, sort_keys=False, width=120))
    return path


def _provenance(groups, merged: pd.DataFrame, proxies: Sequence[str], table: Path, made_with: Mapping) -> dict:
    """How the table was made, from the shards' names and the merged rows."""
    settings = {}
    for files in groups.values():
        for path in files:
            match = SHARD_NAME.match(path.name)
            if match:
                settings.setdefault("batch_size", {})[match["label"]] = int(match["batch"])
                settings.setdefault("seed", {})[match["label"]] = int(match["seed"])
    coverage = {proxy: {"cells": int(merged[f"{proxy}{SECONDS_SUFFIX}"].notna().sum()),
                        "undefined": int((merged[f"{proxy}{SECONDS_SUFFIX}"].notna() & merged[proxy].isna()).sum()),
                        "median_seconds": round(float(merged[f"{proxy}{SECONDS_SUFFIX}"].median()), 4)}
                for proxy in proxies}
    return {
        "scores": SCORES_FILE,
        "cells": len(merged),
        "benchmark_table": {"file": table.name, "sha256": hashlib.sha256(table.read_bytes()).hexdigest()},
        "shards": {path.name: int(len(pd.read_csv(path, usecols=[KEY]))) for files in groups.values()
                   for path in files},
        **settings,
        "torch": _version("torch"),
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        **dict(made_with),
        "coverage": coverage,
    }


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True)
class ScoresTable:
    """A NAS-Bench-201 scores table: per cell (its decision vector), each proxy's value and seconds. A value is
    NaN where the proxy could not score the cell, or where the table has no row for it."""

    path: Path
    sha256: str
    proxies: tuple[str, ...]
    rows: Mapping[tuple[int, ...], int]
    values: Mapping[str, np.ndarray]
    seconds: Mapping[str, np.ndarray]

    def check_proxies(self, names: Sequence[str]) -> None:
        """Refuse (one line) a name that is no registered proxy, or a proxy the table has no column for."""
        for name in names:
            PROXIES.get(name)  # raises naming the valid ones
            if name not in self.proxies:
                raise ConfigError(f"scores table {str(self.path)!r} has no column {name!r} (it holds "
                                  f"{', '.join(self.proxies) or 'no proxy'})")

    def cells_with(self, proxy: str) -> int:
        return int(np.isfinite(self.seconds[proxy]).sum())


def read_scores_table(path: str | Path, space: NasBench201Space | None = None) -> ScoresTable:
    """The scores table at `path`, its keys checked to be cells of `space`; only the proxies and their seconds
    are kept (an accuracy column a user joined in is dropped: a guided search must not see it)."""
    space = space or NasBench201Space()
    path = Path(path)
    where = f"scores table {str(path)!r}"
    if not path.is_file():
        raise ConfigError(f"{where} does not exist")
    try:
        frame = pd.read_csv(path, dtype={KEY: str}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ConfigError(f"{where} is not a readable CSV: {error}") from None
    if KEY not in frame.columns:
        raise ConfigError(f"{where} lacks column {KEY!r} (the cell's arch string): not a table of zero-cost scores")
    # Registered proxies only: any other column (an accuracy joined in, even with a seconds column) is dropped.
    proxies = tuple(column for column in proxy_columns(list(frame.columns)) if column in PROXIES)
    rows = {}
    for row, key in enumerate(frame[KEY], start=1):
        try:
            choices = space.encode(key)
        except ConfigError as error:
            reason = str(error).removeprefix(f"NAS-Bench-201 arch {key!r}: ")
            raise ConfigError(f"{where} is not for the nasbench201 space: row {row} key {key!r}: {reason}") from None
        if choices in rows:
            raise ConfigError(f"{where} lists {key} twice (rows {rows[choices] + 1} and {row})")
        rows[choices] = row - 1

    return ScoresTable(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), proxies=proxies, rows=rows,
                       values={proxy: _numbers(frame[proxy]).to_numpy(dtype=float) for proxy in proxies},
                       seconds={proxy: _numbers(frame[f"{proxy}{SECONDS_SUFFIX}"]).to_numpy(dtype=float)
                                for proxy in proxies})
