"""Small real inputs for tests: an image-folder dataset, a learnable in-memory dataset, an experiment config that
trains in seconds, and a finished search's folder."""

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


def fake_experiment(folder: Path, accuracies_and_params, sampler: str = "random", minutes_apart: float = 1.0):
    """A finished search's folder without training: trials.csv with cells of the tiny space and the given results."""
    from datetime import datetime, timedelta, timezone

    from nas.search.trial_store import TrialRecord, TrialStore
    from nas.space import load_space

    space = load_space(REPOSITORY / "search_spaces" / "tiny.yaml")
    store = TrialStore(folder)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for token, (accuracy, params) in enumerate(accuracies_and_params):
        genotype = space.decode(space.sample(token))
        finished = start + timedelta(minutes=minutes_apart * (token + 1))
        store.append(TrialRecord(trial_id=f"t{token}", token=token, sampler=sampler, genotype=str(genotype),
                                 hash=genotype.hash(), choices=[], status="ok", val_acc=accuracy, params=params,
                                 macs=params * 100, train_time_s=30.0, device="cpu",
                                 finished_at=finished.isoformat(timespec="seconds")))
    return folder


def learnable_dataset(count: int = 320, classes: int = 4, size: int = 8, noise: float = 15.0):
    """Each class brightens its own colour channel (the last class none) plus noise: learnt in an epoch or two."""
    import torch

    from nas.data import ImageSet
    from nas.data.image_set import Dataset

    generator = torch.Generator().manual_seed(0)
    colours = torch.tensor([[200.0 if channel == c else 60.0 for channel in range(3)] for c in range(classes)])

    def images(n):
        labels = torch.arange(n) % classes
        base = colours[labels][:, :, None, None]
        spread = torch.randn((n, 3, size, size), generator=generator) * noise
        return labels, (base + spread).clamp(0, 255).to(torch.uint8)

    train_labels, train_pixels = images(count)
    test_labels, test_pixels = images(count // 4)
    return Dataset(name="levels", root="-", classes=[f"c{i}" for i in range(classes)],
                   train=ImageSet(labels=train_labels, pixels=train_pixels, origin="train"),
                   test=ImageSet(labels=test_labels, pixels=test_pixels, origin="test"),
                   channels=3, image_size=size, mean=(0.5,) * 3, std=(0.25,) * 3)
