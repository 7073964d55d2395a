"""Training recipes: YAML files of hyper-parameters, read into a frozen dataclass that rejects unknown keys."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy

from nas.errors import ConfigError
from nas.package_files import RECIPES_DIR
from nas.yaml_files import read_yaml


@dataclass(frozen=True)
class Recipe:
    """How to train. Model-size keys (channels, cells) apply to cell networks; baselines keep their own shape."""

    name: str = "custom"
    description: str = ""
    epochs: int = 3
    batch_size: int = 128
    eval_batch_size: int = 500
    lr: float = 0.025
    lr_min: float = 0.0  # where the cosine ends
    warmup_epochs: float = 0.0  # linear warm-up from lr/steps to lr, then cosine
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 3e-4
    label_smoothing: float = 0.0
    grad_clip: float = 5.0  # max gradient norm; 0 turns clipping off
    drop_path: float = 0.0  # final drop-path probability, ramped linearly from 0 over the epochs (DARTS)
    auxiliary_weight: float = 0.0  # weight of the auxiliary head's loss; > 0 asks the model for the head
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0  # side of the cutout square in pixels; 0 = none
    channels: int | None = 16  # initial channels C of a cell network
    cells: int | None = 8  # cells of a cell network
    bf16: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True  # NHWC activations: faster convolutions on GPUs and on CPUs (oneDNN)
    compile: bool = False  # torch.compile the model (CUDA); worth it only for long runs
    freeze_stages: int = 0  # fine-tuning: the first N stages (resolutions) keep their weights
    lr_backbone: float = 1.0  # fine-tuning: everything but the classifier trains at lr * lr_backbone
    cuda_graph: str = "auto"  # auto | on | off: capture the whole training step in a CUDA graph (auto: on CUDA)
    tune_format: bool = True  # with a CUDA graph: time bf16/fp32 x channels_last/contiguous, train with the fastest
    # Before each evaluation, recompute batch-norm statistics on this many training batches (0: off); see
    # nas.train.bn_recalibration and the recipes' comments for where it pays.
    bn_recalibration_batches: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FIELD_TYPES = {field.name: field.type for field in dataclasses.fields(Recipe)}


def saved_recipe(saved: dict) -> dict:
    """A recipe as a checkpoint or campaign folder saved it, with keys added since (which it did not have) read as
    their defaults, so a folder written before a new key still resumes."""
    return {**{k: v for k, v in Recipe().to_dict().items() if k not in saved}, **saved}


def available_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str | Path, overrides: dict | None = None) -> Recipe:
    """A recipe by name (search_spaces/recipes/<name>.yaml) or YAML path, with `overrides` applied on top.

    None values in `overrides` are skipped, so CLI options that were not given leave the recipe alone."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPES_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ConfigError(f"unknown recipe {name_or_path!r}; choose from {', '.join(available_recipes())} "
                              "or give a YAML file")
    elif not path.exists():
        raise ConfigError(f"recipe file {path} does not exist")
    values = read_yaml(path, "recipe")
    if not isinstance(values, dict):
        raise ConfigError(f"recipe {path} must be a mapping of keys to values")
    values.setdefault("name", path.stem)
    _check_keys(values, f"recipe {path}")
    if overrides:
        overrides = {k: v for k, v in overrides.items() if v is not None}
        _check_keys(overrides, "recipe override")
        values.update(overrides)
    return validate(Recipe(**{k: _coerce(k, v, path) for k, v in values.items()}))


def _check_keys(values: dict, where: str) -> None:
    unknown = sorted(set(values) - set(FIELD_TYPES))
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}{more}; known keys: {', '.join(FIELD_TYPES)}")


def _coerce(key: str, value, path):
    kind = FIELD_TYPES[key]
    if value is None:
        if "None" in kind:
            return None
        raise ConfigError(f"recipe key {key!r} needs a value")
    if key == "cuda_graph" and isinstance(value, bool):  # YAML 1.1 reads a bare on/off as a boolean
        return "on" if value else "off"
    # numbers.* rather than int/float: a search hands over numpy scalars from its samplers
    if kind.startswith("bool"):
        if isinstance(value, (bool, numpy.bool_)):
            return bool(value)
    elif kind.startswith("int"):
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, numpy.bool_)):
            return int(value)
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(value)
    elif kind.startswith("float"):
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, numpy.bool_)):
            if not math.isfinite(value):  # .inf / .nan: a run that diverges or a check that compares false
                raise ConfigError(f"recipe key {key!r} must be a finite number, got {value!r} (in {path})")
            return float(value)
    elif kind.startswith("str"):
        return str(value)
    raise ConfigError(f"recipe key {key!r} must be {kind.split(' ')[0]}, got {value!r} (in {path})")


def validate(recipe: Recipe) -> Recipe:
    checks = [
        (recipe.epochs >= 1, "epochs must be at least 1"),
        (recipe.batch_size >= 1, "batch_size must be at least 1"),
        (recipe.eval_batch_size >= 1, "eval_batch_size must be at least 1"),
        (recipe.lr > 0, "lr must be positive"),
        (0 <= recipe.lr_min <= recipe.lr, "lr_min must be between 0 and lr"),
        (0 <= recipe.warmup_epochs <= recipe.epochs, "warmup_epochs must be between 0 and epochs"),
        (0 <= recipe.momentum < 1, "momentum must be in [0, 1)"),
        (not recipe.nesterov or recipe.momentum > 0, "nesterov needs momentum > 0"),
        (recipe.weight_decay >= 0, "weight_decay must be >= 0"),
        (0 <= recipe.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
        (recipe.grad_clip >= 0, "grad_clip must be >= 0"),
        (0 <= recipe.drop_path < 1, "drop_path must be in [0, 1)"),
        (recipe.auxiliary_weight >= 0, "auxiliary_weight must be >= 0"),
        (recipe.crop_padding >= 0, "crop_padding must be >= 0"),
        (recipe.cutout >= 0, "cutout must be >= 0"),
        (recipe.channels is None or recipe.channels >= 1, "channels must be at least 1"),
        (recipe.cells is None or recipe.cells >= 1, "cells must be at least 1"),
        (recipe.freeze_stages >= 0, "freeze_stages must be >= 0"),
        (recipe.lr_backbone >= 0, "lr_backbone must be >= 0"),
        (recipe.bn_recalibration_batches >= 0, "bn_recalibration_batches must be >= 0"),
        (recipe.cuda_graph in ("auto", "on", "off"), f"cuda_graph must be auto, on or off, got {recipe.cuda_graph!r}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"recipe {recipe.name!r}: {message}")
    return recipe
