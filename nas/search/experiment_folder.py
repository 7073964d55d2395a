"""The experiment folder (results/<name>/) and the rules for starting or resuming one.

    experiment.yaml   the config it was started with, its recipe, the space's decisions and the data it trained
                      on (dataset, classes, image counts: nas.data.data_facts)
    trials.csv        one row per trained candidate (trials.parquet beside it when pyarrow is installed)
    sampler.json      the sampler's state, saved after every ask and tell (the controller's weights beside it in
                      sampler.json.weights-<update>.pt, which sampler.json names)
    optuna.db         the Optuna study (tpe, random, nsga2), unless sampler_options.storage names another database
                      (in WAL mode: optuna.db-wal and optuna.db-shm beside it while it is open); another sampler
                      may keep files of its own here
    ray/              Ray Tune's own trial folders and logs
    best.yaml, top/   the best cells, as genotype files `nas train` / `nas show` read
    driver.lock       while a driver runs the search: its host and pid (nas.cluster.driver_lock)
    proxy_scoring.json  a search with a zero-cost proxy: what scoring cost (nas.search.proxy_scoring_summary)
    search_timing.json  each run's command start and phase times (nas.search.search_timing)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from nas.atomic_files import check_writable_folder, write_text_atomic
from nas.data.data_facts import DataFacts
from nas.errors import ConfigError
from nas.samplers.base import read_saved_sampler
from nas.search.experiment_config import ExperimentConfig, ZeroCostSettings, move_old_keys, zero_cost_settings
from nas.search.search_timing import read_runs
from nas.search.trial_store import TRIALS_FILE, TrialStore
from nas.train.recipe import saved_recipe
from nas.yaml_files import dump_yaml, read_yaml_mapping

# What a resumed search may change; anything else would mix results trained differently in one table.
CHANGEABLE_ON_RESUME = ("trials", "time_budget_s", "resources", "trial_time_limit_s", "max_retries", "ray_address",
                        "storage", "results_dir", "top_k", "data", "early_stopping")
DATA_KEYS_FIXED_ON_RESUME = ("dataset", "subset", "val_size")  # the folder may move; the split may not change


@dataclass(frozen=True)
class SavedExperiment:
    """experiment.yaml as a search wrote it, older searches' files included: what a resume compares the search
    with, and what reports say about how a search was run. `config` and `recipe` stay mappings of the keys as
    saved (a resume compares them key by key, and older files hold keys the config no longer has); the questions
    reports ask of them are the properties below."""

    config: dict
    recipe: dict
    space_decisions: list | None = None
    data_facts: DataFacts = DataFacts()  # all None (not recorded) for searches made before they were recorded

    @classmethod
    def read(cls, paths: "ExperimentPaths") -> "SavedExperiment":
        """ConfigError naming the file when it is missing a section (edited by hand)."""
        saved = read_yaml_mapping(paths.config, "experiment file")
        config, recipe = saved.get("config"), saved.get("recipe")
        for key, section in (("config", config), ("recipe", recipe),
                             ("config.data", (config or {}).get("data", {}) if isinstance(config, dict) else None)):
            if not isinstance(section, dict):
                raise ConfigError(f"experiment file {paths.config} has no {key} mapping (was it edited?)")
        return cls(config, recipe, saved.get("space_decisions"), DataFacts.from_dict(saved.get("data_facts")))

    @property
    def sampler(self) -> str | None:
        return self.config.get("sampler")

    @property
    def space(self) -> str | None:
        return self.config.get("space")

    @property
    def data(self) -> dict:
        return self.config.get("data") or {}

    @property
    def training_subset(self) -> int | None:
        """The class-balanced subset of the training set the candidates trained on; None for all of it."""
        return self.data.get("subset")

    @property
    def zero_cost(self) -> ZeroCostSettings | None:
        """How the search used a zero-cost proxy; None for none (and for searches made before proxies)."""
        return zero_cost_settings(self.config.get("zero_cost"), "experiment file")

    @property
    def epochs(self) -> int | None:
        return self.recipe.get("epochs")

    def network_size(self, key: str):
        """`channels` or `cells` of each candidate: the recipe's, or, for searches made before the recipe held
        the network's size, model.channels / model.cells."""
        return (self.config.get("model") or {}).get(key) or self.recipe.get(key)


@dataclass(frozen=True)
class ExperimentPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "experiment.yaml"

    @property
    def trials(self) -> Path:
        return self.root / TRIALS_FILE

    def is_experiment(self) -> bool:
        """Whether a search has run here (it has a trial table)."""
        return self.trials.is_file()

    def require_experiment(self) -> None:
        if not self.is_experiment():
            raise ConfigError(f"{self.root} is not a search's experiment folder (it has no {TRIALS_FILE})")

    @property
    def sampler(self) -> Path:
        return self.root / "sampler.json"

    @property
    def best(self) -> Path:
        return self.root / "best.yaml"

    @property
    def top(self) -> Path:
        return self.root / "top"

    @property
    def ray(self) -> Path:
        return self.root / "ray"


def space_fingerprint(space) -> list:
    return [[decision.name, list(decision.choices)] for decision in space.decisions]


def check_start_or_resume(config: ExperimentConfig, resume: bool, space, recipe) -> ExperimentPaths:
    """The experiment's paths, once the folder is known to be new (a start) or the same search (a resume)."""
    paths = ExperimentPaths(Path(config.results_dir) / config.name)
    exists = paths.config.exists()
    if resume and not exists:
        raise ConfigError(f"cannot resume: no experiment {config.name!r} in {paths.root.parent}/")
    if not resume and exists:
        raise ConfigError(f"experiment {config.name!r} already exists in {paths.root}; "
                          f"pass --resume to continue it or --name to start another")
    if resume:
        check_resume_matches(SavedExperiment.read(paths), config, space, recipe)
        check_tables_readable(paths)
    check_output_places(config, paths, resume)
    return paths


def check_tables_readable(paths: ExperimentPaths) -> None:
    """A resumed search's trials.csv, sampler.json and search_timing.json must read back (they may have been edited
    by hand): refused before the data is loaded or Ray starts, naming the file (and for the table, the row and
    column)."""
    if paths.trials.exists():
        TrialStore(paths.root)
    if paths.sampler.exists():  # garbled by hand: say so before Ray starts rather than after
        read_saved_sampler(paths.sampler)
    read_runs(paths.root)  # the resume appends its run to them


def check_output_places(config: ExperimentConfig, paths: ExperimentPaths, resume: bool) -> None:
    """Everything a search writes must be writable before the data is loaded or Ray starts: the experiment folder
    (on resume its files too: the Optuna database is updated in place) and Ray's storage when it is a folder."""
    check_writable_folder(paths.root, "experiment folder", files_too=resume)
    if config.storage and "://" not in config.storage:
        check_writable_folder(config.storage, "storage")


def check_resume_matches(saved: SavedExperiment, config: ExperimentConfig, space, recipe) -> None:
    name = config.name
    if saved.space_decisions != space_fingerprint(space):
        raise ConfigError(f"cannot resume {name!r}: it was made from another search space ({saved.space})")
    # An experiment file of an older version names sampler options by their old keys (optuna_storage, ...).
    saved_config, current = move_old_keys(saved.config)[0], config.to_dict()
    for key, value in current.items():
        if key in CHANGEABLE_ON_RESUME or key in ("space", "recipe", "recipe_overrides"):
            continue
        if saved_config.get(key) != value:
            raise ConfigError(f"cannot resume {name!r} with {key} = {value!r}: it was started with "
                              f"{saved_config.get(key)!r}")
    for key in DATA_KEYS_FIXED_ON_RESUME:
        started_with = saved_config.get("data", {}).get(key)
        if started_with != current["data"][key]:
            raise ConfigError(f"cannot resume {name!r} with data.{key} = {current['data'][key]!r}: it was "
                              f"started with {started_with!r}")
    started, now = saved_recipe(saved.recipe), dataclasses.asdict(recipe)
    if started != now:
        # say which keys, so a recipe default changed since (bn_recalibration_batches) is one recipe_override away
        changed = ", ".join(f"{key}: {started.get(key)!r}" for key in now if started.get(key) != now[key])
        raise ConfigError(f"cannot resume {name!r} with another training recipe than it was started with "
                          f"(it had {changed}; recipe_overrides can set them)")


def write_experiment_file(paths: ExperimentPaths, config: ExperimentConfig, space, recipe,
                          data_facts: DataFacts = DataFacts()) -> None:
    """experiment.yaml; `data_facts` the split the search loaded (a search passes it; left out: not recorded)."""
    document = {"config": config.to_dict(), "recipe": dataclasses.asdict(recipe),
                "space_decisions": space_fingerprint(space), "data_facts": data_facts.to_dict()}
    write_text_atomic(paths.config, dump_yaml(document, sort_keys=False))
