"""`nas search` (also `python run_search.py`): run or resume an architecture search."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import yaml

from nas.cli.commands import register_command, sampler_name, seed_number
from nas.cli.shared_flags import add_data_flag, add_dataset_flag, add_gpus_per_trial_flag, add_import_flag
from nas.errors import Interrupted
from nas.package_files import DEFAULT_EXPERIMENT
from nas.plural import count_of
from nas.registry import import_user_modules
from nas.samplers import options_from_moved_keys

# Command-line flag -> config key it overrides (--optuna-storage: the option of the Optuna samplers).
OVERRIDES = {
    "sampler": "sampler",
    "trials": "trials",
    "workers": "resources.workers",
    "cpus_per_trial": "resources.cpus_per_trial",
    "gpus_per_trial": "resources.gpus_per_trial",
    "data": "data.root",
    "dataset": "data.dataset",
    "subset": "data.subset",
    "val_size": "data.val_size",
    "name": "name",
    "seed": "seed",
    "space": "space",
    "time_budget": "time_budget_s",
    "trial_time_limit": "trial_time_limit_s",
    "ray_address": "ray_address",
    "storage": "storage",
    "optuna_storage": "optuna_storage",  # the old key, read by the samplers that map it (_with_optuna_storage)
    "results_dir": "results_dir",
    "recipe": "recipe",
}


def _search_arguments(parser) -> None:
    parser.add_argument("--config", default=str(DEFAULT_EXPERIMENT), help="experiment YAML (default: %(default)s)")
    parser.add_argument("--resume", action="store_true", help="continue the experiment named by --name/config")
    # Checked once the search's --import modules are loaded: they may register samplers and datasets.
    parser.add_argument("--sampler", type=sampler_name(check=False), help="%(type)s")
    parser.add_argument("--trials", type=int, help="candidates to train in all (a resumed search counts old ones)")
    parser.add_argument("--workers", type=int, help="trials running at once")
    parser.add_argument("--cpus-per-trial", type=float)
    add_gpus_per_trial_flag(parser, default=None)
    add_data_flag(parser, required=False)
    add_dataset_flag(parser)
    parser.add_argument("--subset", type=int, help="class-balanced subset of the training images")
    parser.add_argument("--val-size", type=int, help="validation images held out of the training subset")
    add_import_flag(parser)
    parser.add_argument("--name", help="experiment name: results/<name>/")
    parser.add_argument("--seed", type=seed_number)
    parser.add_argument("--space", help="search space YAML")
    parser.add_argument("--recipe", help="training recipe for candidates: proxy | full | FILE")
    parser.add_argument("--time-budget", type=float, help="seconds for the whole search")
    parser.add_argument("--trial-time-limit", type=float, help="seconds per trial, checked after each epoch")
    parser.add_argument("--asha", action="store_true", help="stop poor candidates early (ASHA)")
    parser.add_argument("--ray-address", help="join a Ray cluster: auto or HOST:PORT (default: start a local Ray)")
    parser.add_argument("--storage", help="Ray Tune storage URI (shared folder or object store)")
    parser.add_argument("--optuna-storage", help="SQLAlchemy URL of the Optuna database: sampler_options.storage of "
                        "tpe, random and nsga2 (default: a SQLite file in the experiment folder)")
    parser.add_argument("--results-dir", help="where experiment folders go (default: results)")
    parser.add_argument("--sampler-option", dest="sampler_options", action="append", type=sampler_option,
                        metavar="KEY=VALUE", help="one of the sampler's own options (sampler_options.KEY of the "
                        "config; VALUE read as YAML: 5, true, params), repeatable, e.g. --sampler-option "
                        "n_startup_trials=5")


def sampler_option(text: str) -> tuple[str, object]:
    """KEY=VALUE -> (KEY, VALUE read as YAML), so numbers and booleans arrive typed as in the config file."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"{key.strip()}: {value!r} is not a YAML value") from None


def resume_command(args) -> str:
    """The command line that resumes the search `args` ran: the same flags (a resume must match them) + --resume."""
    words = ["python", "run_search.py"] if Path(sys.argv[0]).name == "run_search.py" else ["nas", "search"]
    words += ["--config", args.config]
    for flag in OVERRIDES:
        if getattr(args, flag) is not None:
            words += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
    words += ["--asha"] * bool(args.asha)
    for key, value in args.sampler_options or []:
        words += ["--sampler-option", f"{key}={json.dumps(value)}"]  # JSON is YAML: it reads back the same
    for module in args.imports or []:
        words += ["--import", module]
    return shlex.join([*words, "--resume"])


def _how_to_continue(args) -> str:
    return f"what finished is kept: continue with {resume_command(args)}"


def _with_optuna_storage(config, url: str):
    """--optuna-storage is read as the config's old `optuna_storage` key is (without its notice): as the option
    the sampler maps it to, `storage` of the Optuna samplers; a sampler that maps no such key ignores it."""
    import_user_modules(config.imports)  # the sampler may be the user's
    moved = options_from_moved_keys(config.sampler, {"optuna_storage": url})
    return config.replace(sampler_options={**config.sampler_options, **moved}) if moved else config


@register_command("search", help="run an architecture search on Ray Tune", arguments=_search_arguments)
def run(args) -> int:
    """Run an architecture search. Flags override the config file."""
    entered = time.time()  # before the imports below: they are part of the driver's start the search records
    # Loaded when the command runs, not when `nas` builds its parser: start-up stays light.
    from nas.search.experiment_config import load_experiment_config
    from nas.search.runner import run_search
    from nas.search.search_costs import cost_line, latest_run_costs
    from nas.search.search_summary import best_cell_line, summary_table

    overrides = {key: getattr(args, flag) for flag, key in OVERRIDES.items() if flag != "optuna_storage"}
    if args.asha:
        overrides["early_stopping.asha"] = True
    if args.imports:
        overrides["imports"] = args.imports
    for key, value in args.sampler_options or []:
        overrides[f"sampler_options.{key}"] = value
    notices = []
    config = load_experiment_config(args.config, overrides, notices)
    if args.optuna_storage is not None:
        config = _with_optuna_storage(config, args.optuna_storage)
    for line in notices:  # on stdout with the search's other lines: stderr holds at most the one error line
        print(f"nas search: {line}")
    try:
        outcome = run_search(config, resume=args.resume, command_started=entered)
    except KeyboardInterrupt:  # SIGTERM, or a second Ctrl-C: stopped at once; the sampler and table are saved
        raise Interrupted(_how_to_continue(args)) from None
    print()
    print(summary_table(outcome.store))
    print(f"\nresults: {outcome.paths.trials}")
    print(best_cell_line(outcome.paths.best, outcome.best))
    costs = latest_run_costs(outcome.paths.root, outcome.store.frame(), config.resources.workers)
    if costs is not None:  # this run trained candidates: where the workers' time went
        print(cost_line(costs))
    if outcome.interrupted:
        print(f"nas search: interrupted after {len(outcome.store)} of {count_of(config.trials, 'trial')}; "
              f"{_how_to_continue(args)}", file=sys.stderr)
        return 130
    return 0
