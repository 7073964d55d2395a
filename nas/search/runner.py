"""Run an architecture search: sampler -> Ray Tune trials -> trial store, resumable after any crash.

The experiment folder (results/<name>/) holds everything needed to resume:
    experiment.yaml   the config it was started with, its recipe, and the space's decisions
    trials.csv        one row per trained candidate (trials.parquet beside it when pyarrow is installed)
    sampler.json      the sampler's state, saved after every ask and tell
    optuna.db         the Optuna study (tpe, random, nsga2), unless the config names another database
    ray/              Ray Tune's own trial folders and logs
    best.yaml, top/   the best cells, as genotype files `nas train` / `nas show` read

Everything a user can get wrong is checked before the folder is written to: the space, the sampler and its
options, the recipe, the stack, the data, the Ray connection and whether a trial's resources exist at all.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from nas.atomic_files import write_text_atomic
from nas.errors import ConfigError
from nas.search.samplers import load_sampler, make_sampler
from nas.search.trial_store import TrialRecord, TrialStore
from nas.space.genotype_files import save_genotype
from nas.space.search_space import load_space, read_yaml

OPTUNA_SAMPLERS = ("tpe", "random", "nsga2")
# What a resumed search may change; anything else would mix results trained differently in one table.
CHANGEABLE_ON_RESUME = ("trials", "time_budget_s", "resources", "trial_time_limit_s", "max_retries", "ray_address",
                        "storage", "results_dir", "top_k", "data", "early_stopping")
DATA_KEYS_FIXED_ON_RESUME = ("dataset", "subset", "val_size")  # the folder may move; the split may not change


@dataclass
class ExperimentPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "experiment.yaml"

    @property
    def sampler(self) -> Path:
        return self.root / "sampler.json"

    @property
    def optuna_db(self) -> Path:
        return self.root / "optuna.db"

    @property
    def best(self) -> Path:
        return self.root / "best.yaml"

    @property
    def top(self) -> Path:
        return self.root / "top"


def space_fingerprint(space) -> list:
    return [[decision.name, list(decision.choices)] for decision in space.decisions]


def import_user_modules(names) -> None:
    """Modules named in `imports` (for example ones that register new ops), in the driver and in every trial."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(f"cannot import {name!r} listed in imports: {error}") from None


def open_experiment(config: dict, resume: bool):
    """Check everything against the request before anything is written; return paths, space and recipe."""
    from nas.models.ops import known_op_names
    from nas.models.registry import get_model
    from nas.train.recipe import load_recipe

    import_user_modules(config["imports"])
    space = load_space(config["space"])
    if hasattr(space, "check_ops"):
        space.check_ops(known_op_names())
    _check_sampler(config, space)
    recipe = load_recipe(config["recipe"], config["recipe_overrides"])
    get_model(config["model"]["stack"], kind="stack")
    for key in ("channels", "cells"):
        value = config["model"][key]
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"model.{key} must be a whole number of at least 1 or null, got {value!r}")
    paths = ExperimentPaths(Path(config["results_dir"]) / config["name"])
    exists = paths.config.exists()
    if resume and not exists:
        raise ConfigError(f"cannot resume: no experiment {config['name']!r} in {paths.root.parent}/")
    if not resume and exists:
        raise ConfigError(f"experiment {config['name']!r} already exists in {paths.root}; "
                          f"pass --resume to continue it or --name to start another")
    if resume:
        _check_resume_matches(read_yaml(paths.config, "experiment file"), config, space, recipe)
    return paths, space, recipe


def _check_resume_matches(saved: dict, config: dict, space, recipe) -> None:
    name = config["name"]
    if saved.get("space_decisions") != space_fingerprint(space):
        raise ConfigError(f"cannot resume {name!r}: it was made from another search space "
                          f"({saved.get('config', {}).get('space')})")
    saved_config = saved.get("config", {})
    for key, value in config.items():
        if key in CHANGEABLE_ON_RESUME or key in ("space", "recipe", "recipe_overrides"):
            continue
        if saved_config.get(key) != value:
            raise ConfigError(f"cannot resume {name!r} with {key} = {value!r}: it was started with "
                              f"{saved_config.get(key)!r}")
    for key in DATA_KEYS_FIXED_ON_RESUME:
        if saved_config.get("data", {}).get(key) != config["data"][key]:
            raise ConfigError(f"cannot resume {name!r} with data.{key} = {config['data'][key]!r}: it was "
                              f"started with {saved_config.get('data', {}).get(key)!r}")
    if saved.get("recipe") != dataclasses.asdict(recipe):
        raise ConfigError(f"cannot resume {name!r} with another training recipe than it was started with")


def _check_sampler(config: dict, space) -> None:
    """Build the sampler once in memory, so a bad name or option fails before the experiment folder exists."""
    options = {key: value for key, value in config["sampler_options"].items() if key not in ("storage", "study_name")}
    make_sampler(config["sampler"], space.decisions, seed=config["seed"], **options)


def build_sampler(config: dict, space, paths: ExperimentPaths, resume: bool):
    storage = config["optuna_storage"] or f"sqlite:///{paths.optuna_db.resolve()}"
    optuna = config["sampler"] in OPTUNA_SAMPLERS
    if resume and paths.sampler.exists():
        # The folder may have moved since: the default database is the one beside sampler.json now.
        return load_sampler(paths.sampler, **({"storage": storage} if optuna and not config["optuna_storage"] else {}))
    options = dict(config["sampler_options"])
    if optuna:
        options.setdefault("storage", storage)
        options.setdefault("study_name", config["name"])
        if not resume:
            _refuse_existing_study(options["storage"], options["study_name"])
    if config["sampler"] == "nsga2":
        options.setdefault("cost", config["objective"]["cost"])
    return make_sampler(config["sampler"], space.decisions, seed=config["seed"], **options)


def _refuse_existing_study(storage: str, study_name: str) -> None:
    """A new experiment must not inherit another's trials from a shared Optuna database."""
    import optuna

    if study_name in optuna.study.get_all_study_names(storage=storage):
        raise ConfigError(f"the Optuna database {storage} already has a study named {study_name!r}; "
                          f"pass --resume to continue it or --name to start another")


class ProgressPrinter:
    """One line per finished trial: counts, best so far and an ETA from the mean pace."""

    def __init__(self, total: int, store: TrialStore, searcher_ref: Callable, print_line=print):
        self.total = total
        self.done = len(store)  # a resumed search counts, and compares with, the trials it already has
        self.started = time.monotonic()
        self.finished_here = 0
        self.searcher_ref = searcher_ref
        self.print_line = print_line
        best = store.best(1)
        self.best: float | None = best[0].val_acc if best else None
        self.failed = sum(record.status in ("failed", "diverged") for record in store.records)

    def __call__(self, record: TrialRecord) -> None:
        self.done += 1
        self.finished_here += 1
        if record.status == "ok" and record.val_acc is not None:
            self.best = max(self.best or 0.0, record.val_acc)
        if record.status in ("failed", "diverged"):
            self.failed += 1
        remaining = self.total - self.done
        pace = (time.monotonic() - self.started) / self.finished_here
        eta = _format_seconds(pace * remaining)
        accuracy = f"{record.val_acc:.3f}" if record.val_acc is not None else "  -  "
        best = f"{self.best:.3f}" if self.best is not None else "-"
        reason = f"  ({record.error})" if record.error and record.status != "ok" else ""
        self.print_line(
            f"[{self.done:>3}/{self.total}] {record.status:<8} val_acc {accuracy}  best {best}  "
            f"running {self.searcher_ref().running}  failed {self.failed}  ETA {eta}  {record.hash}{reason}"
        )


def _format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def export_best(store: TrialStore, paths: ExperimentPaths, top_k: int) -> list[TrialRecord]:
    """best.yaml and top/NN-<hash>.yaml, which `nas train`, `nas show` and transfer read directly."""
    from nas.space.genotype import Genotype

    best = store.best(top_k)
    wanted = set()
    for rank, record in enumerate(best, start=1):
        metadata = {"name": f"{paths.root.name}-{rank}", "source": f"search {paths.root.name}, trial {record.trial_id}",
                    "val_acc": record.val_acc, "params": record.params, "macs": record.macs}
        genotype = Genotype.parse(record.genotype)
        target = paths.top / f"{rank:02d}-{record.hash}.yaml"
        save_genotype(target, genotype, **metadata)
        wanted.add(target.name)
        if rank == 1:
            save_genotype(paths.best, genotype, **metadata)
    for stale in paths.top.glob("*.yaml"):  # ranks move when a resumed search finds better cells
        if stale.name not in wanted:
            stale.unlink()
    return best


def run_search(config: dict, *, resume: bool = False, print_line=print) -> dict:
    """Run (or resume) the search the config describes; returns a summary."""
    paths, space, recipe = open_experiment(config, resume)
    from nas.data import load_dataset, make_splits

    data = config["data"]
    if not data["root"]:
        raise ConfigError("no data folder: pass --data DIR or set data.root in the config")
    dataset = load_dataset(data["dataset"], data["root"], cache_dir=data["cache_dir"])
    # The search reads only the training images: the test split is not even shipped to the workers.
    splits = make_splits(dataset, purpose="search", val_size=data["val_size"], subset=data["subset"],
                         seed=config["seed"])
    print_line(f"data: {dataset.describe()}{' (decoded cache used)' if dataset.from_cache else ''}; {splits.describe()}")
    _start_ray(config)

    # Nothing above wrote into the experiment folder.
    paths.root.mkdir(parents=True, exist_ok=True)
    sampler = build_sampler(config, space, paths, resume)
    if not resume:  # written last, so a start that failed can simply be run again
        document = {"config": config, "recipe": dataclasses.asdict(recipe), "space_decisions": space_fingerprint(space)}
        write_text_atomic(paths.config, yaml.safe_dump(document, sort_keys=False))
    store = TrialStore(paths.root)

    from nas.search.tune_searcher import SamplerSearcher, reconcile_with_store

    rerun = reconcile_with_store(sampler, store)
    remaining = config["trials"] - len(store)
    print_line(f"experiment {config['name']}: space {space.name} ({len(space.decisions)} decisions), "
               f"sampler {config['sampler']}, {len(store)} trials done, {max(remaining, 0)} to go"
               + (f", {len(rerun)} interrupted trial(s) to run again" if rerun else ""))
    if remaining > 0:
        searcher_holder = []
        progress = ProgressPrinter(config["trials"], store, lambda: searcher_holder[0], print_line)
        searcher = SamplerSearcher(sampler=sampler, decode=space.decode, store=store, sampler_path=paths.sampler,
                                   budget=remaining, rerun=rerun, on_record=progress)
        searcher_holder.append(searcher)
        _run_tune(config, recipe, paths, searcher, splits, remaining)
        if searcher.answered_from_store:
            print_line(f"{searcher.answered_from_store} proposal(s) were cells already trained; "
                       f"their stored results answered the sampler")
        if searcher.exhausted:
            print_line("the sampler kept proposing cells already trained: the space looks exhausted")
        if len(store) < config["trials"] and not searcher.exhausted:
            print_line(f"stopped after {len(store)} of {config['trials']} trials (time budget or interruption); "
                       f"--resume continues")
    sampler.save(paths.sampler)
    best = export_best(store, paths, config["top_k"])
    return {"paths": paths, "store": store, "best": best}


def _start_ray(config: dict) -> None:
    """A local Ray (or the cluster at ray_address), checked to have room for one trial."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # our progress lines replace Tune's console tables
    import ray

    if not ray.is_initialized():
        try:
            # PASSIVE: OpenMP threads that spin while idle take the CPU from a neighbouring trial.
            ray.init(address=config["ray_address"], include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE"}})
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ConfigError(f"cannot start or join Ray at {config['ray_address'] or 'a local instance'}: "
                              f"{str(error).splitlines()[0]}") from None
    available = ray.cluster_resources()
    resources = config["resources"]
    for name, asked in (("CPU", resources["cpus_per_trial"]), ("GPU", resources["gpus_per_trial"])):
        if asked > available.get(name, 0):
            raise ConfigError(f"each trial asks for {asked:g} {name}(s), but the Ray cluster has "
                              f"{available.get(name, 0):g}: no trial could ever start")


def _run_tune(config: dict, recipe, paths: ExperimentPaths, searcher, splits, remaining: int) -> None:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from nas.search.candidate_trial import train_candidate

    resources = config["resources"]
    early = config["early_stopping"]
    scheduler = FIFOScheduler()
    if early["asha"]:
        # max_t is one past the last epoch: the trial's final report (status, costs) comes after it.
        scheduler = ASHAScheduler(time_attr="epoch", max_t=recipe.epochs + 1, grace_period=early["grace_period"],
                                  reduction_factor=early["reduction_factor"])
    trial_config = {
        # The recipe travels resolved: a recipe file need not exist where the trial runs.
        "seed": config["seed"], "recipe": dataclasses.asdict(recipe), "model": config["model"],
        "imports": config["imports"], "time_limit_s": config["trial_time_limit_s"],
        "cpus": resources["cpus_per_trial"], "gpus": resources["gpus_per_trial"],
    }
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, splits=splits),
        {"cpu": resources["cpus_per_trial"], "gpu": resources["gpus_per_trial"]},
    )
    storage = config["storage"] or str((paths.root / "ray").resolve())
    run_name = f"{paths.root.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    tuner = tune.Tuner(
        trainable,
        param_space=trial_config,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=remaining,
                                    max_concurrent_trials=resources["workers"], metric="val_acc", mode="max",
                                    time_budget_s=config["time_budget_s"],
                                    reuse_actors=True),  # halves Tune's per-trial overhead (benchmarks/)
        run_config=tune.RunConfig(name=run_name, storage_path=storage, verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=config["max_retries"])),
    )
    tuner.fit()
