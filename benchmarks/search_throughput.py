"""Candidates per hour of a real search, and what a candidate costs beyond its training steps (issue 22).

    python benchmarks/search_throughput.py --data DIR [--trials 50] [--epochs 1] [--subset 2000] [--val-size 200]
                                           [--workers 2] [--device cpu|cuda] [--repo PATH] [--json OUT]

Runs `python run_search.py` in a subprocess with a config it writes (random sampler, NASNet space; on a CPU the
quick search's network, C=8 and 5 cells, batch 64, 1 CPU per trial; with --device cuda the proxy recipe's own
network, C=16 and 8 cells, batch 128, 1/workers of the GPU per trial, on 10,000 images for 3 epochs unless the
flags say otherwise) and a fresh, empty NAS_CACHE_DIR, so the decoded-data cache is cold as on a first search. It
times the command itself, then reads the experiment folder and prints a markdown table: candidates per hour,
the training steps' share of worker time, the breakdown of worker time (nas.search.search_costs), the driver's
start (command to first trial, and the phases search_timing.json recorded), the per-candidate medians, the machine
and its load average.

--repo PATH runs another checkout's run_search.py (a git worktree of an older commit: "before"); where that
checkout did not record a column (started_at, worker_s, eval_s, search_timing.json) the figures fall back to what
it did record (setup_s, train_time_s, step_s, finished_at) and the output says which figures it could not compute.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))  # run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/machine.py

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)
from nas.atomic_files import write_text_atomic  # noqa: E402
from nas.markdown_table import markdown_table  # noqa: E402
from nas.search.search_costs import cost_line, cost_table, run_costs  # noqa: E402
from nas.search.search_timing import RunTiming, read_runs, utc_timestamp  # noqa: E402

NAME = "throughput"
# Per device: (subset, val_size, epochs, workers, recipe_overrides). CPU: the quick search's network
# (search_spaces/quick.yaml); GPU: the proxy recipe's own, on candidates of realistic length.
DEFAULTS = {
    "cpu": (2000, 200, 1, 2, {"batch_size": 64, "lr": 0.1, "channels": 8, "cells": 5}),
    "cuda": (10000, 1000, 3, 4, {"batch_size": 128, "channels": 16, "cells": 8}),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("NAS_CIFAR10_DIR"), help="image-folder tree (train/...)")
    parser.add_argument("--device", default="cpu", choices=sorted(DEFAULTS))
    parser.add_argument("--trials", type=int, default=50, help="candidates (default %(default)s)")
    parser.add_argument("--epochs", type=int, help="per candidate (default: cpu 1, cuda 3)")
    parser.add_argument("--subset", type=int, help="images per candidate, train + val (default: cpu 2000, cuda 10000)")
    parser.add_argument("--val-size", type=int, help="validation images of the subset (default: cpu 200, cuda 1000)")
    parser.add_argument("--workers", type=int, help="trials at once (default: cpu 2 x 1 CPU, cuda 4 sharing the GPU)")
    parser.add_argument("--repo", type=Path, default=REPOSITORY, help="checkout whose run_search.py runs")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep", type=Path, help="copy the search's experiment folder here (its trials.csv: compare "
                        "two checkouts' candidates, which are the same cells, trained with the same seed)")
    args = parser.parse_args(argv)
    subset, val_size, epochs, workers, _ = DEFAULTS[args.device]
    args.subset, args.val_size = args.subset or subset, args.val_size or val_size
    args.epochs, args.workers = args.epochs or epochs, args.workers or workers
    if not args.data:
        parser.error("give --data DIR (an image-folder tree with train/<class>/*.jpg) or set NAS_CIFAR10_DIR")
    if not (args.repo / "run_search.py").is_file():
        parser.error(f"--repo {args.repo} has no run_search.py")
    return args


def search_config(args, folder: Path, cache: Path) -> Path:
    spaces = args.repo / "search_spaces"
    space = spaces / "nasnet.yaml" if (spaces / "nasnet.yaml").is_file() else args.repo / "nas" / "search_spaces" / \
        "nasnet.yaml"
    gpu = args.device == "cuda"
    config = {
        "name": NAME, "space": str(space), "sampler": "random", "trials": args.trials, "seed": 0,
        "data": {"dataset": "imagefolder", "root": str(args.data), "subset": args.subset, "val_size": args.val_size,
                 "cache_dir": str(cache)},
        "recipe": "proxy", "recipe_overrides": {"epochs": args.epochs, **DEFAULTS[args.device][4]},
        "model": {"stack": "cifar"},
        "resources": {"workers": args.workers, "cpus_per_trial": 1,
                      "gpus_per_trial": round(1 / args.workers, 4) if gpu else 0},
        "results_dir": str(folder / "results"),
    }
    path = folder / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def timed_search(repo: Path, config: Path, env: dict | None = None, log: Path | None = None) -> dict:
    """Run `repo`'s run_search.py on `config`; its wall time, the UTC moment it began, and its output."""
    began = time.time()
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, str(repo / "run_search.py"), "--config", str(config)],
                               capture_output=True, text=True, cwd=repo, env=env)
    wall = time.perf_counter() - started
    if log is not None:
        log.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        sys.exit(f"run_search.py failed ({completed.returncode}): {completed.stderr.strip()[-3000:]}")
    return {"wall_s": wall, "began": began, "stdout": completed.stdout}


def measure(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="search-throughput-") as folder:
        folder = Path(folder)
        cache = folder / "cache"  # empty: the decoded-data cache is cold
        env = {**os.environ, "PYTHONPATH": str(args.repo), "NAS_CACHE_DIR": str(cache)}
        load_before = os.getloadavg()
        search = timed_search(args.repo, search_config(args, folder, cache), env, folder / "search.log")
        load_after = os.getloadavg()
        experiment = folder / "results" / NAME
        trials = pd.read_csv(experiment / "trials.csv")
        runs = read_runs(experiment)
        if args.keep:
            shutil.copytree(experiment, args.keep, dirs_exist_ok=True)
    # A checkout that recorded no timing: the command's start is this script's launch of it (milliseconds apart).
    run = runs[-1] if runs else RunTiming(utc_timestamp(search["began"]), args.workers)
    costs = run_costs(trials, args.workers, run)
    finished = int((trials["status"] == "ok").sum())
    missing = list(costs.missing) + ([] if runs else ["phases of the driver's start: not recorded by that checkout "
                                                      "(command to first trial measured from this script's clock)"])
    return {
        "command": " ".join(sys.argv), "repo": str(args.repo), "device": args.device, "trials": len(trials),
        "trials_ok": finished, "epochs": args.epochs, "subset": args.subset, "val_size": args.val_size,
        "workers": args.workers, "wall_s": round(search["wall_s"], 1),
        "candidates_per_hour": round(finished / (search["wall_s"] / 3600), 1),
        "candidates_per_hour_while_trials_run": round(finished / (costs.span_s / 3600), 1) if costs.span_s else None,
        "step_share": round(costs.share(costs.steps_s), 3), "worker_s": costs.worker_s, "span_s": costs.span_s,
        "breakdown": cost_table(costs).to_dict("records"), "line": cost_line(costs),
        "driver_start_s": costs.driver_start_s, "phases_after_command_s": costs.phases,
        "after_search_ended_s": round(search["wall_s"] - costs.phases["search_ended"], 1)  # best cells, Ray's end
        if "search_ended" in costs.phases else None,
        "median_macs": float(trials["macs"].median()) if "macs" in trials else None,
        "not_computed": missing, "machine": cpu_model(), "cores": os.cpu_count(),
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "measured_at": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
    }


def print_figures(figures: dict) -> None:
    print(f"\nsearch: {figures['trials_ok']}/{figures['trials']} candidates ok, {figures['epochs']} epoch(s) on "
          f"{figures['subset'] - figures['val_size']} images ({figures['val_size']} val), {figures['workers']} "
          f"workers, {figures['device']}; {figures['repo']}")
    print(f"machine: {figures['machine']}, {figures['cores']} cores; load average (1 min) "
          f"{figures['load_average_1m']['before']} before, {figures['load_average_1m']['after']} after; "
          f"{figures['measured_at']}\n")
    driver = figures["driver_start_s"]
    phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in figures["phases_after_command_s"].items())
    print("| figure | value |\n| --- | --- |")
    for label, value in (
            ("command's wall time", f"{figures['wall_s']:,.1f} s"),
            ("candidates per hour (whole command)", f"{figures['candidates_per_hour']:,.1f}"),
            ("candidates per hour while trials run", f"{figures['candidates_per_hour_while_trials_run'] or 0:,.1f}"),
            ("training steps' share of worker time", f"{figures['step_share']:.0%}"),
            ("worker time (workers x first trial start to last trial end)", f"{figures['worker_s']:,.1f} s"),
            ("driver's start: command to first trial start", "not recorded" if driver is None else f"{driver:.1f} s"),
            ("phases after the command", phases or "not recorded"),
            ("after the search ended (best cells exported, Ray shut down)",
             "not recorded" if figures["after_search_ended_s"] is None else f"{figures['after_search_ended_s']} s")):
        print(f"| {label} | {value} |")
    print()
    print(markdown_table(pd.DataFrame(figures["breakdown"])))
    for reason in figures["not_computed"]:
        print(f"\nnot computed: {reason}")


def main(argv=None) -> None:
    args = parse_args(argv)
    figures = measure(args)
    print(json.dumps({"search_throughput": figures}), flush=True)
    print_figures(figures)
    if args.json:
        write_text_atomic(args.json, json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
