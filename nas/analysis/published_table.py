"""Published CIFAR-10 numbers of NAS cells and hand-designed baselines, with their sources, for reports.

The numbers live in nas/search_spaces/published/cifar10.yaml; this module reads them and checks every row against
the schema below (a comma left unquoted once turned a method's name into two keys)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from nas.errors import ConfigError
from nas.package_files import PUBLISHED_RESULTS_DIR
from nas.yaml_files import read_yaml_mapping

PUBLISHED_CIFAR10 = PUBLISHED_RESULTS_DIR / "cifar10.yaml"
_TOP_KEYS = {"dataset", "classes", "papers", "nas_cells", "baselines"}
_CELL_KEYS = {"method", "cell", "test_error", "params_m", "search_gpu_days", "source"}
_BASELINE_KEYS = {"test_error", "params_m", "source"}
_RANGES = {"test_error": (0.0, 100.0), "params_m": (0.001, 1000.0), "search_gpu_days": (0.0, 100_000.0)}


def check_published_cifar10(document: dict, path) -> None:
    """ConfigError naming the file and the row unless every row has exactly the schema's keys, numbers in range,
    and a source citing one of the file's `papers`."""
    if set(document) != _TOP_KEYS:
        raise ConfigError(f"published results {path}: needs exactly the keys {sorted(_TOP_KEYS)}, got "
                          f"{sorted(document)}")
    papers = document["papers"]
    rows = [(row.get("method") if isinstance(row, dict) else row, row, _CELL_KEYS)
            for row in document["nas_cells"]]
    rows += [(name, row, _BASELINE_KEYS) for name, row in document["baselines"].items()]
    for name, row, keys in rows:
        if not isinstance(row, dict) or set(row) != keys:
            raise ConfigError(f"published results {path}: row {name!r} needs exactly the keys {sorted(keys)}, got "
                              f"{sorted(row) if isinstance(row, dict) else row!r}")
        for key, (low, high) in _RANGES.items():
            value = row.get(key, low)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ConfigError(f"published results {path}: row {name!r}: {key} must be a number from {low} to "
                                  f"{high}, got {value!r}")
        if not all(isinstance(row[key], str) for key in ("source", "method") if key in row):
            raise ConfigError(f"published results {path}: row {name!r}: method and source must be text")
        if not any(row["source"] == paper or row["source"].startswith(paper + ",") for paper in papers):
            raise ConfigError(f"published results {path}: row {name!r} cites {row['source']!r}, which is none of "
                              f"the file's papers")
        if keys is _CELL_KEYS and row["cell"] is not None and not isinstance(row["cell"], str):
            raise ConfigError(f"published results {path}: row {name!r}: cell must be a registry name or null")


def read_published_cifar10(path: str | Path = PUBLISHED_CIFAR10) -> dict:
    document = read_yaml_mapping(path, "published results")
    check_published_cifar10(document, path)
    return document


@lru_cache(maxsize=1)
def _published() -> dict:
    return read_published_cifar10()


def published_on(dataset: str | None, classes: int | None) -> bool:
    """Whether the published numbers were measured on this data (CIFAR-10 and its 10 classes)."""
    return (dataset, classes) == (_published()["dataset"], _published()["classes"])


def published_baseline(name: str) -> dict | None:
    """{'test_error': %, 'params_m': M, 'source': ...} of a baseline by our registry's name, if published."""
    return _published()["baselines"].get(name)


def published_cell(name: str) -> dict | None:
    """The published row of a cell by our registry's name (darts-v2, ...), if published."""
    return next((row for row in _published()["nas_cells"] if row["cell"] == name), None)


def published_result(name: str, kind: str) -> dict | None:
    """The published row of a comparison's network: a baseline by its name, a cell by its registry name."""
    return published_baseline(name) if kind == "baseline" else published_cell(name)


def published_nas_cells() -> pd.DataFrame:
    """Method, test accuracy (%), params (M), search cost (GPU-days) and source of published NAS cells."""
    frame = pd.DataFrame(_published()["nas_cells"])
    frame["test_acc"] = (100 - frame.pop("test_error")).round(2)
    return frame[["method", "test_acc", "params_m", "search_gpu_days", "source"]]
