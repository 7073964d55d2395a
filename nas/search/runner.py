"""Run an architecture search: sampler -> Ray Tune trials -> trial store, resumable after any crash.

The experiment folder (results/<name>/) holds everything needed to resume:
    experiment.yaml   the config it was started with, and the space's decisions (to refuse a different space)
    trials.csv        one row per trained candidate (trials.parquet beside it when pyarrow is installed)
    sampler.json      the sampler's state, saved after every ask and tell
    optuna.db         the Optuna study (tpe, random, nsga2), unless the config names another database
    ray/              Ray Tune's own trial folders and logs
    best.yaml, top/   the best cells, as genotype files `nas train` / `nas show` read
"""

from __future__ import annotations

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


def open_experiment(config: dict, resume: bool) -> tuple[ExperimentPaths, object]:
    """Check the experiment folder against the request before anything is written; return paths and space."""
    space = load_space(config["space"])
    if hasattr(space, "check_ops"):
        from nas.models.ops import known_op_names  # so a space naming an unknown op fails before Ray starts

        space.check_ops(known_op_names())
    _check_sampler(config, space)
    paths = ExperimentPaths(Path(config["results_dir"]) / config["name"])
    exists = paths.config.exists()
    if resume and not exists:
        raise ConfigError(f"cannot resume: no experiment {config['name']!r} in {paths.root.parent}/")
    if not resume and exists:
        raise ConfigError(f"experiment {config['name']!r} already exists in {paths.root}; "
                          f"pass --resume to continue it or --name to start another")
    if resume:
        saved = read_yaml(paths.config, "experiment file")
        if saved.get("space_decisions") != space_fingerprint(space):
            raise ConfigError(f"cannot resume {config['name']!r}: it was made from another search space "
                              f"({saved.get('config', {}).get('space')})")
        if saved.get("config", {}).get("sampler") != config["sampler"]:
            raise ConfigError(f"cannot resume {config['name']!r} with sampler {config['sampler']!r}: "
                              f"it was started with {saved.get('config', {}).get('sampler')!r}")
    return paths, space


def _check_sampler(config: dict, space) -> None:
    """Build the sampler once in memory, so a bad name or option fails before the experiment folder exists."""
    options = {key: value for key, value in config["sampler_options"].items() if key not in ("storage", "study_name")}
    make_sampler(config["sampler"], space.decisions, seed=config["seed"], **options)


def build_sampler(config: dict, space, paths: ExperimentPaths, resume: bool):
    if resume and paths.sampler.exists():
        return load_sampler(paths.sampler)
    options = dict(config["sampler_options"])
    if config["sampler"] in OPTUNA_SAMPLERS:
        options.setdefault("storage", config["optuna_storage"] or f"sqlite:///{paths.optuna_db.resolve()}")
        options.setdefault("study_name", config["name"])
    if config["sampler"] == "nsga2":
        options.setdefault("cost", config["objective"]["cost"])
    return make_sampler(config["sampler"], space.decisions, seed=config["seed"], **options)


class ProgressPrinter:
    """One line per finished trial: counts, best so far and an ETA from the mean pace."""

    def __init__(self, total: int, done_before: int, workers: int, searcher_ref: Callable, print_line=print):
        self.total = total
        self.done = done_before
        self.started = time.monotonic()
        self.finished_here = 0
        self.workers = workers
        self.searcher_ref = searcher_ref
        self.print_line = print_line
        self.best: float | None = None
        self.failed = 0

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
    for rank, record in enumerate(best, start=1):
        metadata = {"name": f"{paths.root.name}-{rank}", "source": f"search {paths.root.name}, trial {record.trial_id}",
                    "val_acc": record.val_acc, "params": record.params, "macs": record.macs}
        genotype = Genotype.parse(record.genotype)
        save_genotype(paths.top / f"{rank:02d}-{record.hash}.yaml", genotype, **metadata)
        if rank == 1:
            save_genotype(paths.best, genotype, **metadata)
    return best


def run_search(config: dict, *, resume: bool = False, print_line=print) -> dict:
    """Run (or resume) the search the config describes; returns a summary."""
    paths, space = open_experiment(config, resume)
    # Everything below may write into the experiment folder; nothing above did.
    from nas.data import load_dataset, make_splits

    data = config["data"]
    if not data["root"]:
        raise ConfigError("no data folder: pass --data DIR or set data.root in the config")
    dataset = load_dataset(data["dataset"], data["root"], cache_dir=data["cache_dir"])
    # The search reads only the training images: the test split is not even shipped to the workers.
    splits = make_splits(dataset, purpose="search", val_size=data["val_size"], subset=data["subset"],
                         seed=config["seed"])
    print_line(f"data: {dataset.describe()}{' (decoded cache used)' if dataset.from_cache else ''}; {splits.describe()}")

    paths.root.mkdir(parents=True, exist_ok=True)
    sampler = build_sampler(config, space, paths, resume)
    if not resume:  # written last, so a start that failed can simply be run again
        document = {"config": config, "space_decisions": space_fingerprint(space)}
        write_text_atomic(paths.config, yaml.safe_dump(document, sort_keys=False))
    store = TrialStore(paths.root)
    cost = config["objective"]["cost"]

    from nas.search.tune_searcher import SamplerSearcher, reconcile_with_store

    rerun = reconcile_with_store(sampler, store, cost)
    remaining = config["trials"] - len(store)
    print_line(f"experiment {config['name']}: space {space.name} ({len(space.decisions)} decisions), "
               f"sampler {config['sampler']}, {len(store)} trials done, {max(remaining, 0)} to go"
               + (f", {len(rerun)} interrupted trial(s) to run again" if rerun else ""))
    if remaining > 0:
        searcher_holder = []
        progress = ProgressPrinter(config["trials"], len(store), config["resources"]["workers"],
                                   lambda: searcher_holder[0], print_line)
        searcher = SamplerSearcher(sampler=sampler, decode=space.decode, store=store, sampler_path=paths.sampler,
                                   budget=remaining, rerun=rerun, cost=cost, on_record=progress)
        searcher_holder.append(searcher)
        _run_tune(config, paths, searcher, splits, remaining)
        if searcher.answered_from_store:
            print_line(f"{searcher.answered_from_store} proposal(s) were cells already trained; "
                       f"their stored results answered the sampler")
        if searcher.exhausted:
            print_line("the sampler kept proposing cells already trained: the space looks exhausted")
    sampler.save(paths.sampler)
    best = export_best(store, paths, config["top_k"])
    return {"paths": paths, "store": store, "best": best}


def _run_tune(config: dict, paths: ExperimentPaths, searcher, splits, remaining: int) -> None:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # our progress lines replace Tune's console tables
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from nas.search.candidate_trial import train_candidate

    if not ray.is_initialized():
        address = config["ray_address"]
        # PASSIVE: OpenMP threads that spin while idle take the CPU from a neighbouring trial (BENCHMARKS.md).
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE"}})
    resources = config["resources"]
    early = config["early_stopping"]
    recipe_epochs = config["recipe_overrides"].get("epochs")
    scheduler = FIFOScheduler()
    if early["asha"]:
        from nas.train.recipe import load_recipe

        epochs = recipe_epochs or load_recipe(config["recipe"], config["recipe_overrides"]).epochs
        # max_t is one past the last epoch: the trial's final report (status, costs) comes after it.
        scheduler = ASHAScheduler(time_attr="epoch", max_t=epochs + 1, grace_period=early["grace_period"],
                                  reduction_factor=early["reduction_factor"])
    trial_config = {
        "seed": config["seed"], "recipe": config["recipe"], "recipe_overrides": config["recipe_overrides"],
        "model": config["model"], "time_limit_s": config["trial_time_limit_s"],
        "cpus": resources["cpus_per_trial"], "gpus": resources["gpus_per_trial"],
    }
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, splits=splits),
        {"cpu": resources["cpus_per_trial"], "gpu": resources["gpus_per_trial"]},
    )
    storage = config["storage"] or str((paths.root / "ray").resolve())
    run_number = len(list((paths.root / "ray").glob("run-*"))) + 1 if not config["storage"] else int(time.time())
    tuner = tune.Tuner(
        trainable,
        param_space=trial_config,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=remaining,
                                    max_concurrent_trials=resources["workers"], metric="val_acc", mode="max",
                                    time_budget_s=config["time_budget_s"],
                                    reuse_actors=True),  # halves Tune's per-trial overhead (benchmarks/)
        run_config=tune.RunConfig(name=f"run-{run_number}", storage_path=storage, verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=config["max_retries"])),
    )
    tuner.fit()
