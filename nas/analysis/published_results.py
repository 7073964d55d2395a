"""Numbers other people published, kept beside our own so reports can print them side by side.

The numbers live in data files with their sources (nas/search_spaces/published/); this module only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nas.errors import ConfigError
from nas.package_files import PUBLISHED_RESULTS_DIR
from nas.yaml_files import read_yaml_mapping

NASBENCH201_PUBLISHED = PUBLISHED_RESULTS_DIR / "nasbench201.yaml"
_RESULT_KEYS = {"dataset", "method", "test_mean", "test_std", "runs", "source"}


@dataclass(frozen=True)
class PublishedSearchResult:
    """One method's published search result: test accuracy (%) of the cell it picked, mean ± std over runs."""

    dataset: str
    method: str
    test_mean: float
    test_std: float
    runs: int
    source: str  # the citation, in words


def nasbench201_published(dataset: str, path: str | Path = NASBENCH201_PUBLISHED) -> list[PublishedSearchResult]:
    """The published NAS-Bench-201 search results for `dataset` (a table's column prefix), in file order."""
    document = read_yaml_mapping(path, "published results")
    sources = document.get("sources") or {}
    results = []
    for entry in document.get("results") or []:
        if not isinstance(entry, dict) or set(entry) != _RESULT_KEYS:
            raise ConfigError(f"published results {path}: each result needs exactly {sorted(_RESULT_KEYS)}, "
                              f"got {entry!r}")
        if entry["source"] not in sources:
            raise ConfigError(f"published results {path}: result {entry['method']!r} cites unknown source "
                              f"{entry['source']!r}")
        if entry["dataset"] == dataset:
            results.append(PublishedSearchResult(
                dataset=entry["dataset"], method=entry["method"], test_mean=float(entry["test_mean"]),
                test_std=float(entry["test_std"]), runs=int(entry["runs"]), source=sources[entry["source"]],
            ))  # fmt: skip
    return results
