"""Published CIFAR-10 numbers of NAS cells and hand-designed baselines, with their sources, for reports.

The numbers live in nas/search_spaces/published/cifar10.yaml; this module only reads them."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from nas.package_files import PUBLISHED_RESULTS_DIR
from nas.yaml_files import read_yaml_mapping


@lru_cache(maxsize=1)
def _published() -> dict:
    return read_yaml_mapping(PUBLISHED_RESULTS_DIR / "cifar10.yaml", "published results")


def published_baseline(name: str) -> dict | None:
    """{'test_error': %, 'params_m': M, 'source': ...} of a baseline by our registry's name, if published."""
    return _published()["baselines"].get(name)


def published_nas_cells() -> pd.DataFrame:
    """Method, test accuracy (%), params (M), search cost (GPU-days) and source of published NAS cells."""
    frame = pd.DataFrame(_published()["nas_cells"])
    frame["test_acc"] = 100 - frame.pop("test_error")
    return frame[["method", "test_acc", "params_m", "search_gpu_days", "source"]]
