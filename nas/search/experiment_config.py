"""The experiment config of a search: YAML file, then command-line overrides, checked key by key.

Every key is listed in DEFAULTS; a key that is not there is an error, so a typo never silently does nothing.
Relative paths (the space file) are read relative to the config file first, then to the working directory.
"""

from __future__ import annotations

import copy
from pathlib import Path

from nas.errors import ConfigError
from nas.space.search_space import read_yaml

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPOSITORY / "search_spaces" / "quick.yaml"

DEFAULTS = {
    "name": "quick",
    "space": "nasnet.yaml",
    "sampler": "tpe",
    "sampler_options": {},
    "trials": 8,
    "time_budget_s": None,  # wall-clock budget for the whole search
    "seed": 0,
    "objective": {"cost": "params"},  # the cost a multi-objective sampler (nsga2) minimises
    "data": {
        "dataset": "auto",  # auto | cifar10 | imagefolder
        "root": None,  # folder; --data overrides
        "subset": None,  # class-balanced subset of the training set; None for all of it
        "val_size": None,  # held out from the (subset of the) training set, None for 10% (45,000/5,000 on
        # CIFAR-10); the test split is never read by a search
        "cache_dir": None,
    },
    "recipe": "proxy",
    "recipe_overrides": {},
    "model": {"stack": "cifar", "channels": None, "cells": None},  # None: the recipe's channels and cells
    "resources": {"workers": 2, "cpus_per_trial": 1, "gpus_per_trial": 0},
    "imports": [],  # modules imported in the driver and every trial first, e.g. ones that register_op new ops
    "early_stopping": {"asha": False, "grace_period": 1, "reduction_factor": 3},
    "trial_time_limit_s": None,  # per trial; the trial stops and is recorded as pruned
    "max_retries": 2,  # Ray Tune retries of a trial whose worker died
    "ray_address": None,  # None: start a local Ray; 'auto' or HOST:PORT: join a cluster
    "storage": None,  # Ray Tune storage: None for <experiment>/ray, or a URI (shared folder, s3://...)
    "optuna_storage": None,  # SQLAlchemy URL; None for sqlite in the experiment folder
    "results_dir": "results",
    "top_k": 5,  # cells exported to <experiment>/top/
}

FREE_MAPPINGS = ("sampler_options", "recipe_overrides")  # checked by the sampler and the recipe
SECTIONS = {key for key, value in DEFAULTS.items() if isinstance(value, dict) and key not in FREE_MAPPINGS}


def _merge(defaults: dict, given: dict, where: str) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(defaults)})")
        if where == "config" and key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key!r} must be a mapping")
            merged[key] = _merge(defaults[key], value, f"{where} {key}")
        else:
            merged[key] = value
    return merged


def load_experiment_config(path=None, overrides: dict | None = None) -> dict:
    """The config file merged over DEFAULTS, then `overrides` ({'resources.workers': 4, 'sampler': 'random'})."""
    path = Path(path) if path else DEFAULT_CONFIG
    given = read_yaml(path, "config file")
    if not isinstance(given, dict):
        raise ConfigError(f"config file {path} must be a YAML mapping")
    config = _merge(DEFAULTS, given, "config")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.rpartition(".")
        target = config[section] if section else config
        target[key] = value
    for key in FREE_MAPPINGS:  # `sampler_options:` left empty in YAML reads as None
        config[key] = {} if config[key] is None else config[key]
        if not isinstance(config[key], dict):
            raise ConfigError(f"{key} must be a mapping, got {config[key]!r}")
    config["space"] = str(_resolve_relative(config["space"], path))
    if Path(str(config["recipe"])).suffix:  # a recipe file rather than a recipe name
        config["recipe"] = str(_resolve_relative(config["recipe"], path, what="recipe file"))
    _check(config)
    return config


def _resolve_relative(name, config_path: Path, what: str = "space file") -> Path:
    for candidate in (config_path.parent / name, Path(name), REPOSITORY / "search_spaces" / name):
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"{what} {name!r} not found (looked beside {config_path} and in the working directory)")


def _check(config: dict) -> None:
    def whole(value, what, minimum=0, allow_none=False):
        if value is None and allow_none:
            return
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{what} must be a whole number of at least {minimum}, got {value!r}")

    whole(config["trials"], "trials", 1)
    whole(config["seed"], "seed")
    whole(config["resources"]["workers"], "workers", 1)
    whole(config["max_retries"], "max_retries")
    whole(config["top_k"], "top_k", 1)
    whole(config["data"]["subset"], "data.subset", 10, allow_none=True)
    whole(config["data"]["val_size"], "data.val_size", 1, allow_none=True)
    for key in ("cpus_per_trial", "gpus_per_trial"):
        value = config["resources"][key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"resources.{key} must be a number of at least 0, got {value!r}")
    if config["resources"]["cpus_per_trial"] <= 0 and config["resources"]["gpus_per_trial"] <= 0:
        raise ConfigError("a trial needs some CPUs or GPUs (cpus_per_trial and gpus_per_trial are both 0)")
    for key in ("time_budget_s", "trial_time_limit_s"):
        value = config[key]
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            raise ConfigError(f"{key} must be a positive number of seconds, got {value!r}")
    if config["data"]["dataset"] not in ("auto", "cifar10", "imagefolder"):
        raise ConfigError(f"data.dataset must be auto, cifar10 or imagefolder, got {config['data']['dataset']!r}")
    if config["objective"].get("cost") not in ("params", "macs"):
        raise ConfigError(f"objective.cost must be params or macs, got {config['objective'].get('cost')!r}")
    for key in ("grace_period", "reduction_factor"):
        whole(config["early_stopping"][key], f"early_stopping.{key}", 1 if key == "grace_period" else 2)
    if not isinstance(config["imports"], list) or not all(isinstance(name, str) for name in config["imports"]):
        raise ConfigError(f"imports must be a list of module names, got {config['imports']!r}")
    if not config["results_dir"]:
        raise ConfigError("results_dir must name a folder")
    config["results_dir"] = str(config["results_dir"])
    name = config["name"] = str(config["name"])
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"experiment name {name!r} must be a plain folder name")
