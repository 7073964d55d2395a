"""Small real inputs for search tests: an image-folder dataset and an experiment config that trains in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from PIL import Image

REPOSITORY = Path(__file__).resolve().parents[1]


def make_image_folder(root: Path, classes: int = 3, per_class: int = 24, test_per_class: int = 4, size: int = 16):
    """Coloured noise images whose mean colour depends on the class, so a network can learn something."""
    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("test", test_per_class)):
        for label in range(classes):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                base = np.zeros((size, size, 3)) + 255 * (label / max(classes - 1, 1))
                pixels = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{index:03d}.png")
    return root


def write_config(path: Path, data_root: Path, results: Path, **changes) -> Path:
    config = {
        "name": "test",
        "space": str(REPOSITORY / "search_spaces" / "tiny.yaml"),
        "sampler": "random",
        "trials": 3,
        "seed": 0,
        "data": {"dataset": "imagefolder", "root": str(data_root), "subset": None, "val_size": 12,
                 "cache_dir": str(path.parent / "cache")},
        "recipe": "proxy",
        "recipe_overrides": {"epochs": 1, "batch_size": 16, "channels": 4, "cells": 3},
        "model": {"stack": "cifar"},
        "resources": {"workers": 2, "cpus_per_trial": 1, "gpus_per_trial": 0},
        "results_dir": str(results),
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path.write_text(yaml.safe_dump(config))
    return path
