"""What `nas transfer` and `nas compare` share: the data, recipe, seed and cluster flags, the checks made before
anything is written, and running the jobs into a folder that a second run of the same command continues."""

from __future__ import annotations

import math
from pathlib import Path

from nas.atomic_files import check_writable_folder, write_text_atomic
from nas.cli.commands import MAX_SEED, dataset_name, output_place
from nas.errors import ConfigError
from nas.yaml_files import dump_yaml, read_yaml_mapping


def add_campaign_arguments(parser, default_recipe: str, depth_flag: str = "--cells") -> None:
    """`depth_flag`: the flag for the cell networks' number of cells (`nas compare` uses --cells for its list)."""
    parser.add_argument("--data", required=True, help="dataset folder (CIFAR-10, or an image-folder tree with a "
                                                     "test/ or val/ split)")
    parser.add_argument("--dataset", type=dataset_name(), help="%(type)s (default auto)")
    parser.add_argument("--subset", type=int, help="train on a class-balanced subset of this many images")
    parser.add_argument("--recipe", default=default_recipe, help=f"proxy, full or a recipe YAML (default "
                                                                 f"{default_recipe})")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--channels", type=int, help="initial channels C of the cell networks")
    parser.add_argument(depth_flag, dest="depth", type=int, help="cells of the cell networks (depth)")
    parser.add_argument("--seeds", type=int, default=1, help="runs of each network, seeds 0..S-1 (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--cpus-per-trial", type=float, default=1)
    parser.add_argument("--gpus-per-trial", type=float, default=0, help="fractions share one GPU between runs")
    parser.add_argument("--ray-address", help="join a Ray cluster: auto or HOST:PORT (default: a local Ray)")
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        help="module to import first, e.g. one that registers ops or baselines (repeatable)")
    parser.add_argument("--cache-dir", help="where decoded datasets are cached")
    parser.add_argument("--results-dir", default="results", type=output_place,
                        help="where result folders go (default results)")


def load_campaign_recipe(args):
    from nas.registry import import_user_modules
    from nas.train.recipe import load_recipe

    import_user_modules(args.imports, where="--import")
    if args.seeds < 1 or args.workers < 1:
        raise ConfigError("--seeds and --workers must be at least 1")
    if args.seeds - 1 > MAX_SEED:
        raise ConfigError(f"--seeds {args.seeds}: seeds run 0..S-1 and a seed must be at most 2**32 - 1")
    for flag, value in (("--cpus-per-trial", args.cpus_per_trial), ("--gpus-per-trial", args.gpus_per_trial)):
        if not 0 <= value < math.inf:  # NaN fails this too; Ray would meet it only once a trial is placed
            raise ConfigError(f"{flag} must be a number of at least 0, got {value}")
    if args.cpus_per_trial == 0 and args.gpus_per_trial == 0:
        raise ConfigError("a run needs some CPUs or GPUs (--cpus-per-trial and --gpus-per-trial are both 0)")
    return load_recipe(args.recipe, {"epochs": args.epochs, "batch_size": args.batch_size,
                                     "channels": args.channels, "cells": args.depth})


def load_final_splits(args):
    """The full training set and the test set (or a class-balanced subset of the training set)."""
    from nas.data import load_dataset, make_splits
    from nas.data.sources import AUTO
    from nas.errors import DataError

    dataset = load_dataset(args.dataset or AUTO, args.data, cache_dir=args.cache_dir, progress=False)
    if dataset.test is None:
        raise DataError(f"{args.data} has no test split (a test/ or val/ folder): results are reported on it")
    splits = make_splits(dataset, purpose="final", val_size=0, subset=args.subset, seed=0)
    print(f"data: {dataset.describe()}; {splits.describe()}")
    for line in dataset.note_lines():
        print(line)
    return splits


def run_campaign(args, jobs, folder: Path, recipe, splits, title: str, notes: list[str]) -> int:
    from nas.evaluation.job_runner import CampaignSettings, run_jobs
    from nas.evaluation.summary import write_summary
    from nas.search.experiment_config import Resources
    from nas.search.experiment_lock import holding_lock
    from nas.search.ray_session import start_ray

    resources = Resources(workers=args.workers, cpus_per_trial=args.cpus_per_trial,
                          gpus_per_trial=args.gpus_per_trial)
    start_ray(args.ray_address, resources)  # before the folder is written: a wrong address writes nothing
    folder.mkdir(parents=True, exist_ok=True)
    with holding_lock(folder, folder.name):  # one driver per campaign folder, as per experiment
        write_text_atomic(folder / "campaign.yaml", dump_yaml(
            {"title": title, "recipe": recipe.to_dict(), "jobs": [job.to_dict() for job in jobs]}, sort_keys=False))
        settings = CampaignSettings(folder=folder, recipe=recipe.to_dict(), resources=resources,
                                    imports=tuple(args.imports), ray_address=args.ray_address)
        table = run_jobs(jobs, splits, settings)
    notes = [*notes, f"recipe {recipe.name}: {recipe.epochs} epochs, batch {recipe.batch_size}, lr {recipe.lr}"
             + (f", {len(splits.train):,} training images" if splits is not None else "")]
    summary = write_summary(table, folder, title, notes)
    print()
    print((folder / "summary.md").read_text())
    print(f"rows: {folder / 'runs.csv'}; summary: {folder / 'summary.md'}")
    failed = len(table) - int(summary["seeds"].sum()) if len(summary) else len(table)
    return 0 if failed == 0 else 1


def check_campaign_folder(folder: Path, recipe) -> None:
    """Before the data is loaded: the folder must be writable, and a second run continues the first, so it must
    train with the same recipe, or the table would mix two."""
    from nas.search.experiment_lock import ExperimentLock

    check_writable_folder(folder, "result folder", files_too=True)
    ExperimentLock(folder, folder.name).check_free()  # a second driver on the folder: refused before any work
    saved = folder / "campaign.yaml"
    if saved.is_file():
        started = read_yaml_mapping(saved, "campaign file").get("recipe")
        if started != recipe.to_dict():
            raise ConfigError(f"{folder} was started with another recipe; pass another --name to start afresh")
