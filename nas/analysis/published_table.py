"""Published CIFAR-10 numbers with their sources (published_cifar10.yaml beside this file), for reports."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import pandas as pd
import yaml


@lru_cache(maxsize=1)
def _published() -> dict:
    return yaml.safe_load((files("nas.analysis") / "published_cifar10.yaml").read_text())


def published_baseline(name: str) -> dict | None:
    """{'test_error': %, 'params_m': M, 'source': ...} of a baseline by our registry's name, if published."""
    return _published()["baselines"].get(name)


def published_nas_cells() -> pd.DataFrame:
    """Method, test accuracy (%), params (M), search cost (GPU-days) and source of published NAS cells."""
    frame = pd.DataFrame(_published()["nas_cells"])
    frame["test_acc"] = 100 - frame.pop("test_error")
    return frame[["method", "test_acc", "params_m", "search_gpu_days", "source"]]
