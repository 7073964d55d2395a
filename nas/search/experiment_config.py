"""The experiment config of a search: a YAML file, then command-line overrides, read into frozen dataclasses.

Every key has a field below; a key that has none is an error, so a typo never silently does nothing. Relative
paths (the space file, a recipe file) are read relative to the config file first, then to the working directory,
then among the files that ship with the package. `to_dict()` is what experiment.yaml stores.

The network's width and depth are the recipe's (`recipe_overrides: {channels: 8, cells: 5}`); the config names
only how cells are stacked (`model.stack`). What a sampler needs (a database, a cost to minimise) is one of its
`sampler_options`; the top-level keys older versions had for them are still read, with one notice.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nas.cluster.resources import AUTO_GPUS, Resources
from nas.data.sources import AUTO
from nas.errors import ConfigError
from nas.models.networks import SMALL_IMAGE_STACK
from nas.package_files import DEFAULT_EXPERIMENT, SEARCH_SPACES_DIR
from nas.samplers import DEFAULT_SAMPLER, MAX_SEED, moved_config_keys, options_from_moved_keys
from nas.samplers.proxy_guided import DEFAULT_VOTE_MEMBERS, VOTE, ProxyGuidance
from nas.yaml_files import read_yaml_mapping

DEFAULT_CONFIG = DEFAULT_EXPERIMENT


@dataclass(frozen=True)
class DataSettings:
    dataset: str = AUTO  # auto or a registered dataset source (cifar10, imagefolder, ...)
    root: str | None = None  # folder; --data overrides
    subset: int | None = None  # class-balanced subset of the training set; None for all of it
    # held out from the (subset of the) training set, None for 10% (45,000/5,000 on CIFAR-10); the test split is
    # never read by a search
    val_size: int | None = None
    cache_dir: str | None = None


@dataclass(frozen=True)
class ModelSettings:
    stack: str = SMALL_IMAGE_STACK  # how cells are stacked; width and depth come from the recipe


@dataclass(frozen=True)
class EarlyStopping:
    asha: bool = False
    grace_period: int = 1
    reduction_factor: int = 3


@dataclass(frozen=True)
class ZeroCostSettings:
    """How the search uses a zero-cost proxy (nas.samplers.proxy_guided.ProxyGuidance, plus the batch it is scored
    on). Absent from a config (None): no proxy, as before proxies existed."""

    proxy: str = VOTE  # a registered proxy, or vote: the mean percentile rank of vote_members
    vote_members: tuple[str, ...] = DEFAULT_VOTE_MEMBERS
    warm_start_pool: int = 0  # cells scored before the first trial; the best become the sampler's first ones
    warm_start_count: int | None = None  # None: the sampler's start-up size
    screen: int = 1  # candidates drawn per trained one, the best by proxy trained
    batch_size: int = 64  # images of the training split each candidate is scored on

    @property
    def guidance(self) -> ProxyGuidance:
        return ProxyGuidance(self.proxy, tuple(self.vote_members), self.warm_start_pool, self.warm_start_count,
                             self.screen)

    @property
    def proxies(self) -> tuple[str, ...]:
        return self.guidance.proxies

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "vote_members": list(self.vote_members)}


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = "quick"
    space: str = "nasnet.yaml"
    sampler: str = DEFAULT_SAMPLER
    sampler_options: dict = field(default_factory=dict)  # checked by the sampler itself
    trials: int = 8
    time_budget_s: float | None = None  # wall-clock budget for the whole search
    seed: int = 0
    data: DataSettings = field(default_factory=DataSettings)
    recipe: str = "proxy"
    recipe_overrides: dict = field(default_factory=dict)  # checked by the recipe loader
    model: ModelSettings = field(default_factory=ModelSettings)
    resources: Resources = field(default_factory=Resources)
    imports: tuple[str, ...] = ()  # modules imported in the driver and every trial first (new ops, samplers...)
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    trial_time_limit_s: float | None = None  # per trial; the trial stops and is recorded as pruned
    max_retries: int = 2  # Ray Tune retries of a trial whose worker died
    ray_address: str | None = None  # None: start a local Ray; 'auto' or HOST:PORT: join a cluster
    storage: str | None = None  # Ray Tune storage: None for <experiment>/ray, or a URI (shared folder, s3://...)
    results_dir: str = "results"
    top_k: int = 5  # cells exported to <experiment>/top/
    zero_cost: ZeroCostSettings | None = None  # None: candidates are neither scored nor screened by a proxy

    def to_dict(self) -> dict:
        document = dataclasses.asdict(self)
        document["imports"] = list(self.imports)
        document["zero_cost"] = self.zero_cost.to_dict() if self.zero_cost else None
        return document

    def replace(self, **changes) -> "ExperimentConfig":
        return dataclasses.replace(self, **changes)


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(ExperimentConfig)
            if dataclasses.is_dataclass(f.default_factory)}


def load_experiment_config(path=None, overrides: dict | None = None, notices: list | None = None) -> ExperimentConfig:
    """The config file over the defaults, then `overrides` ({'resources.workers': 4, 'sampler': 'random'});
    None values in `overrides` are skipped, so flags that were not given leave the file alone. Lines the user
    should read (a deprecated key) are appended to `notices`: the command decides where they go."""
    path = Path(path) if path else DEFAULT_CONFIG
    document = read_yaml_mapping(path, "config file")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.rpartition(".")
        if section and document.get(section) is None:
            document[section] = {}
        target = document[section] if section else document
        if not isinstance(target, dict):
            raise ConfigError(f"config file {path}: {section!r} must be a mapping")
        target[key] = value
    config = config_from_dict(document, "config", notices)
    config = config.replace(name=str(config.name), results_dir=str(config.results_dir or ""),
                            space=str(_resolve_relative(config.space, path)))
    if Path(config.recipe).suffix:  # a recipe file rather than a recipe name
        config = config.replace(recipe=str(_resolve_relative(config.recipe, path, what="recipe file")))
    _check(config)
    return config


def config_from_dict(document: dict, where: str = "config", notices: list | None = None) -> ExperimentConfig:
    """An ExperimentConfig from its dict form, refusing keys it does not have."""
    document, old = move_old_keys(document)
    if old and notices is not None:
        keys, options = [" and ".join(names) for names in (old, ["sampler_options." + moved_config_keys()[key]
                                                                      for key in old])]
        notices.append(f"{where}: {keys} {'is' if len(old) == 1 else 'are'} deprecated: read as {options} now; "
                       f"write {'it' if len(old) == 1 else 'them'} there (a sampler without such an option ignores "
                       f"{'it' if len(old) == 1 else 'them'})")
    values = _known_keys(document, ExperimentConfig, where)
    _refuse_nulls(values, where)
    for key, section in SECTIONS.items():
        given = values.get(key)
        if given is None:
            values.pop(key, None)
            continue
        if not isinstance(given, dict):
            raise ConfigError(f"{where}: {key!r} must be a mapping")
        if key == "model" and {"channels", "cells"} & set(given):
            raise ConfigError(f"{where}: model.channels and model.cells are recipe keys now: set them in "
                              f"recipe_overrides (the recipe is where a network's width and depth live)")
        values[key] = section(**_known_keys(given, section, f"{where} {key}"))
    for key in ("sampler_options", "recipe_overrides"):  # `sampler_options:` left empty in YAML reads as None
        if values.get(key) is None:
            values[key] = {}
        elif not isinstance(values[key], dict):
            raise ConfigError(f"{key} must be a mapping, got {values[key]!r}")
    imports = values.get("imports", ())
    if not isinstance(imports, (list, tuple)) or not all(isinstance(name, str) for name in imports):
        raise ConfigError(f"imports must be a list of module names, got {imports!r}")
    values["imports"] = tuple(imports)
    values["zero_cost"] = zero_cost_settings(values.get("zero_cost"), where)
    config = ExperimentConfig(**values)
    _check_text_fields(config, where)
    return config


def zero_cost_settings(given, where: str = "config") -> ZeroCostSettings | None:
    """The `zero_cost:` section; None when it is left out or empty. Its numbers are checked by `_check`, its proxy
    names once the search's imports (which may register proxies) are loaded: nas.search.runner."""
    if given is None:
        return None
    if not isinstance(given, dict):
        raise ConfigError(f"{where}: 'zero_cost' must be a mapping")
    values = _known_keys(given, ZeroCostSettings, f"{where} zero_cost")
    members = values.get("vote_members", DEFAULT_VOTE_MEMBERS)
    if not isinstance(members, (list, tuple)) or not all(isinstance(name, str) for name in members):
        raise ConfigError(f"zero_cost.vote_members must be a list of proxy names, got {members!r}")
    if not isinstance(values.get("proxy", VOTE), str):
        raise ConfigError(f"zero_cost.proxy must be a proxy's name or vote, got {values['proxy']!r}")
    return ZeroCostSettings(**{**values, "vote_members": tuple(members)})


def move_old_keys(document: dict) -> tuple[dict, dict]:
    """`document` with the keys older versions had for sampler options (`objective.cost`, `optuna_storage`) moved
    into `sampler_options` (options given there win), and the old keys found, with their values. Experiment
    files of older versions go through here too, so they still resume."""
    document, old = dict(document), {}
    for key in moved_config_keys():
        section, _, name = key.rpartition(".")
        holder = document.get(section) if section else document
        if not isinstance(holder, dict) or name not in holder:
            continue
        if section:
            holder = document[section] = dict(holder)
        old[key] = holder.pop(name)
        if section and not holder:
            del document[section]  # a section that only held moved keys (objective) is gone
    options = document.get("sampler_options")
    if old and (options is None or isinstance(options, dict)):
        moved = options_from_moved_keys(document.get("sampler", DEFAULT_SAMPLER), old)
        document["sampler_options"] = {**moved, **(options or {})}
    return document, old


def _check_text_fields(config: ExperimentConfig, where: str) -> None:
    """A path, URL or name given as a number or a list (`root: 5`, `space: [a, b]`) is refused here, not met as
    a TypeError once the data is read. (name and results_dir are made text on purpose: `name: 2026` is fine.)"""
    parts = [("", config)] + [(f"{key}.", getattr(config, key)) for key in SECTIONS]
    for prefix, part in parts:
        for item in dataclasses.fields(part):
            if str(item.type) not in ("str", "str | None") or item.name in ("name", "results_dir"):
                continue
            value = getattr(part, item.name)
            if not isinstance(value, str) and not (value is None and "None" in str(item.type)):
                raise ConfigError(f"{where}: {prefix}{item.name} must be text (a name, path or URL), got {value!r}")


# Keys a YAML `null` may leave empty: those whose default is None, sections and option maps (their defaults).
NULLABLE = {f.name for f in dataclasses.fields(ExperimentConfig) if f.default is None} | set(SECTIONS) | {
    "sampler_options", "recipe_overrides"}


def _refuse_nulls(values: dict, where: str) -> None:
    """`name: null` would otherwise become an experiment called 'None'."""
    for key, value in values.items():
        if value is None and key not in NULLABLE:
            raise ConfigError(f"{where}: {key} is empty (null); give it a value, or leave the key out for the default")


def _known_keys(given: dict, cls, where: str) -> dict[str, Any]:
    known = [f.name for f in dataclasses.fields(cls)]
    for key in given:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
    return dict(given)


def _resolve_relative(name, config_path: Path, what: str = "space file") -> Path:
    for candidate in (config_path.parent / name, Path(name), SEARCH_SPACES_DIR / name):
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"{what} {name!r} not found (looked beside {config_path} and in the working directory)")


def _whole(value, what, minimum=0, allow_none=False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{what} must be a whole number of at least {minimum}, got {value!r}")


def _check(config: ExperimentConfig) -> None:
    _whole(config.trials, "trials", 1)
    _whole(config.seed, "seed")
    if config.seed > MAX_SEED:
        raise ConfigError(f"seed must be between 0 and 2**32 - 1 ({MAX_SEED}), got {config.seed}")
    _whole(config.resources.workers, "workers", 1)
    _whole(config.max_retries, "max_retries")
    _whole(config.top_k, "top_k", 1)
    _whole(config.data.subset, "data.subset", 10, allow_none=True)
    _whole(config.data.val_size, "data.val_size", 1, allow_none=True)
    for key in ("cpus_per_trial", "gpus_per_trial"):
        value = getattr(config.resources, key)
        if key == "gpus_per_trial" and value == AUTO_GPUS:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < math.inf:
            raise ConfigError(f"resources.{key} must be a number of at least 0{' or auto' * (key == 'gpus_per_trial')}"
                              f", got {value!r}")
    if config.resources.cpus_per_trial <= 0 and config.resources.gpus_per_trial in (0, 0.0):
        raise ConfigError("a trial needs some CPUs or GPUs (cpus_per_trial and gpus_per_trial are both 0)")
    for key in ("time_budget_s", "trial_time_limit_s"):
        value = getattr(config, key)
        # inf is no limit, as when the key is left out; NaN compares false with everything, so `not value > 0`
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0):
            raise ConfigError(f"{key} must be a positive number of seconds (or .inf for none), got {value!r}")
    _whole(config.early_stopping.grace_period, "early_stopping.grace_period", 1)
    _whole(config.early_stopping.reduction_factor, "early_stopping.reduction_factor", 2)
    if config.zero_cost is not None:
        _check_zero_cost(config.zero_cost)
    if not config.results_dir:
        raise ConfigError("results_dir must name a folder")
    name = str(config.name)
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"experiment name {name!r} must be a plain folder name")


def _check_zero_cost(settings: ZeroCostSettings) -> None:
    _whole(settings.warm_start_pool, "zero_cost.warm_start_pool")
    _whole(settings.warm_start_count, "zero_cost.warm_start_count", 1, allow_none=True)
    _whole(settings.screen, "zero_cost.screen", 1)
    _whole(settings.batch_size, "zero_cost.batch_size", 1)
    if settings.warm_start_count is not None and not settings.warm_start_pool:
        raise ConfigError("zero_cost.warm_start_count is set but warm_start_pool is 0: give the warm start a pool "
                          "of cells to pick from")
    _ = settings.guidance  # ProxyGuidance refuses what it knows to be wrong (a vote of fewer than 2 proxies)
