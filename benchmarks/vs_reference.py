"""Our trainer against the DARTS reference pipeline: same genotype (DARTS-V2), batch size, images and device.

    python benchmarks/vs_reference.py --data DIR [--device cpu|cuda] [--images 2000] [--epochs 3]
                                      [--modes proxy,full] [--search]

DIR is an image-folder tree with train/<class>/*.jpg (the shared CIFAR-10 archive, extracted). For each mode the
reference (../shared/peers/darts/reference_pipeline.py, run as a subprocess: never imported by nas/) and then our
real trainer (nas.train.train with the proxy or full recipe) train on --images training images for --epochs
epochs; the figure of each is the median training images/s of the epochs after the first.
  proxy: DARTS-V2, C=16, 8 cells, batch 128, crop + flip (a search candidate)
  full:  DARTS-V2, C=36, 20 cells, batch 96, auxiliary head 0.4, drop-path 0.2, cutout 16 (DARTS final training)

--search adds the search-level figure: candidates per GPU-hour (CPU-hour on a CPU) of a real `run_search.py`
(--search-trials proxy candidates, --search-workers at once, 1/workers of the GPU each) against the reference
training as many candidates one after another, where one reference candidate costs its measured proxy seconds
per image x the search's training images x epochs (evaluation not counted: in the reference's favour).
The search samples DARTS's operations in 4-block cells (search_spaces/darts_ops.yaml), whose random candidates cost
about what DARTS-V2 costs (median 34M multiply-adds against 43M at the proxy's size).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))  # run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/machine.py

MODES = {
    "proxy": {"recipe": "proxy", "channels": 16, "cells": 8, "batch_size": 128},
    "full": {"recipe": "full", "channels": 36, "cells": 20, "batch_size": 96},
}
REFERENCE_CANDIDATES = ("$NAS_DARTS_REFERENCE", ".device/darts", "shared/peers/darts", "../shared/peers/darts",
                        "/work/shared/peers/darts")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("NAS_CIFAR10_DIR"), help="image-folder tree (train/...)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    parser.add_argument("--images", type=int, default=2000, help="training images (class-balanced)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs to time; the first is not counted")
    parser.add_argument("--modes", default="proxy,full")
    parser.add_argument("--reference", help="folder of reference_pipeline.py (default: the first found of "
                        + ", ".join(REFERENCE_CANDIDATES) + ")")
    parser.add_argument("--cuda-graph", default=None, choices=["auto", "on", "off"], help="our recipe's setting")
    parser.add_argument("--cache-dir", default=os.environ.get("NAS_CACHE_DIR"))
    parser.add_argument("--search", action="store_true", help="also the search-level candidates-per-hour figure")
    parser.add_argument("--search-trials", type=int, default=16)
    parser.add_argument("--search-workers", type=int, default=4)
    parser.add_argument("--search-cpus-per-trial", type=float, default=2)
    parser.add_argument("--search-subset", type=int, default=10000, help="images per candidate (train + val)")
    parser.add_argument("--search-val", type=int, default=1000)
    parser.add_argument("--search-epochs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per reference run")
    return parser.parse_args(argv)


def find_reference(given: str | None) -> Path:
    candidates = [given] if given else [os.path.expandvars(c) for c in REFERENCE_CANDIDATES]
    for candidate in candidates:
        for base in (Path.cwd(), REPOSITORY):
            script = (base / candidate / "reference_pipeline.py") if candidate and "$" not in candidate else None
            if script is not None and script.exists():
                return script
    sys.exit(f"reference_pipeline.py not found in {', '.join(c for c in candidates if c)}; give --reference DIR")


def median_after_first(rates: list[float]) -> float:
    return statistics.median(rates[1:] if len(rates) > 1 else rates)


def run_reference(script: Path, data: str, mode: str, images: int, epochs: int, device: str, timeout: float) -> dict:
    command = [sys.executable, str(script), data, mode, str(images), str(epochs), device]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith('{"pipeline"')]
    if completed.returncode != 0 or not lines:
        sys.exit(f"reference pipeline failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}")
    rates = [line["images_per_sec"] for line in lines]
    return {"images_per_sec": median_after_first(rates), "epochs": rates, "images": lines[-1]["images"],
            "wall_s": time.perf_counter() - started}


def load_splits(data: str, images: int, cache_dir):
    from nas.data import load_dataset, make_splits

    dataset = load_dataset("imagefolder", data, cache_dir=cache_dir, progress=False)
    val_size = max(2 * dataset.num_classes, images // 10)  # evaluated after each epoch, not timed
    return make_splits(dataset, purpose="search", subset=images + val_size, val_size=val_size, seed=0)


def run_ours(splits, mode: str, epochs: int, device: str, cuda_graph: str | None) -> dict:
    import torch

    from nas.models import build_model
    from nas.train import load_recipe, train

    setting = MODES[mode]
    overrides = {"epochs": epochs, "batch_size": setting["batch_size"], "cuda_graph": cuda_graph}
    recipe = load_recipe(setting["recipe"], overrides)
    torch.manual_seed(0)
    model = build_model(genotype="darts-v2", channels=setting["channels"], cells=setting["cells"],
                        num_classes=splits.num_classes, in_channels=splits.channels, image_size=splits.image_size,
                        auxiliary=recipe.auxiliary_weight > 0, drop_path=recipe.drop_path)
    started = time.perf_counter()
    result = train(model, splits, recipe, device=device, seed=0, progress=False)
    rates = [epoch.images_per_sec for epoch in result.history]
    return {"images_per_sec": median_after_first(rates), "epochs": [round(r, 1) for r in rates],
            "images": result.history[-1].images, "step": result.history[-1].step,
            "capture_s": round(result.history[-1].capture_seconds, 3), "val_acc": result.val_acc,
            "wall_s": time.perf_counter() - started}


def darts_v2_proxy_macs() -> int:
    """Multiply-adds of the network the reference's proxy trains (DARTS-V2, C=16, 8 cells, CIFAR)."""
    import torch

    from nas.models import build_model, count_params_and_macs

    with torch.device("meta"):
        network = build_model(genotype="darts-v2", channels=MODES["proxy"]["channels"], cells=MODES["proxy"]["cells"])
    return count_params_and_macs(network, (3, 32, 32))["macs"]


def search_config(args, directory: Path, gpu: bool) -> Path:
    import yaml

    workers = args.search_workers
    config = {
        # DARTS operations: candidates of about the DARTS-V2 cell's cost, which is what the reference trains
        "name": "vs-reference-search", "space": str(REPOSITORY / "search_spaces" / "darts_ops.yaml"),
        "sampler": "random", "trials": args.search_trials, "seed": 0,
        "data": {"dataset": "imagefolder", "root": args.data, "subset": args.search_subset,
                 "val_size": args.search_val, "cache_dir": args.cache_dir},
        "recipe": "proxy",
        "recipe_overrides": {"epochs": args.search_epochs, "batch_size": 128, "channels": 16, "cells": 8},
        "model": {"stack": "cifar"},
        "resources": {"workers": workers, "cpus_per_trial": args.search_cpus_per_trial,
                      "gpus_per_trial": round(1 / workers, 4) if gpu else 0},
        "results_dir": str(directory),
    }
    path = directory / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_search_figure(args, reference_proxy: dict, gpu: bool) -> dict:
    import pandas as pd

    from search_throughput import timed_search  # the same timed run_search.py the throughput benchmark makes

    with tempfile.TemporaryDirectory(prefix="vs-reference-") as folder:
        config = search_config(args, Path(folder), gpu)
        search = timed_search(REPOSITORY, config)
        trials = pd.read_csv(Path(folder) / "vs-reference-search" / "trials.csv")
    wall = search["wall_s"]
    finished = int((trials["status"] == "ok").sum())
    train_images = args.search_subset - args.search_val
    reference_per_candidate = train_images * args.search_epochs / reference_proxy["images_per_sec"]
    reference_per_hour = 3600 / reference_per_candidate
    figure = {"trials_ok": finished, "trials": len(trials), "wall_s": wall, "ours_per_hour": finished / (wall / 3600),
              "reference_s_per_candidate": reference_per_candidate, "reference_per_hour": reference_per_hour}
    figure["ratio"] = figure["ours_per_hour"] / reference_per_hour
    figure.update(where_the_time_went(trials, search["began"], args.search_workers))
    figure["steady_ratio"] = finished / (figure["trials_span_s"] / 3600) / reference_per_hour
    return figure


def where_the_time_went(trials, began: float, workers: int) -> dict:
    """The search's wall time taken apart from trials.csv (nas.search.search_costs): the driver's start before the
    first trial (from `began`, when this script launched it), and per candidate its set-up, the trainer's own
    overhead (probes, capture, evaluation), its training steps, and what is left of a worker's share of the time
    between trials (Ray Tune, the sampler, the driver)."""
    from nas.search.search_costs import run_costs  # as the package's other imports here: at use
    from nas.search.search_timing import RunTiming, utc_timestamp

    costs = run_costs(trials, workers, RunTiming(utc_timestamp(began), workers))
    median = costs.medians
    return {"driver_start_s": costs.driver_start_s, "trials_span_s": max(costs.span_s, 1.0),
            "worker_s_per_candidate": costs.worker_s / max(costs.trials, 1), "median_setup_s": median["set-up"],
            "median_trainer_overhead_s": (median["evaluation"] or 0.0) + median["rest of the trials"],
            "median_step_s": median["training steps"], "median_macs": float(trials["macs"].median()),
            "between_trials_s": median["between trials and idle"]}


def describe_machine(device: str) -> str:
    import torch

    from machine import cpu_model

    card = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else "no GPU used"
    return (f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {cpu_model()}, "
            f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads; {card}; torch {torch.__version__}; "
            f"Python {sys.version.split()[0]}")


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.data:
        sys.exit("give --data DIR (an image-folder tree with train/<class>/*.jpg) or set NAS_CIFAR10_DIR")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        sys.exit(f"unknown mode {unknown[0]!r}; choose from {', '.join(MODES)}")
    reference = find_reference(args.reference)
    print(f"machine: {describe_machine(args.device)}", flush=True)
    print(f"reference: {reference}; images {args.images}, epochs {args.epochs} (median of epochs 2..)", flush=True)
    splits = load_splits(args.data, args.images, args.cache_dir)
    rows = {}
    for mode in modes:
        ref = run_reference(reference, args.data, mode, args.images, args.epochs, args.device, args.timeout)
        print(json.dumps({"pipeline": "darts-reference", "mode": mode, **ref}), flush=True)
        ours = run_ours(splits, mode, args.epochs, args.device, args.cuda_graph)
        print(json.dumps({"pipeline": "ours", "mode": mode, **ours}), flush=True)
        rows[mode] = (ref, ours)

    print(f"\n| run (DARTS-V2, {args.device}, {args.images} images) | ours img/s | reference img/s | ratio | "
          "our step | capture s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for mode, (ref, ours) in rows.items():
        print(f"| {mode} | {ours['images_per_sec']:,.0f} | {ref['images_per_sec']:,.0f} | "
              f"{ours['images_per_sec'] / ref['images_per_sec']:.2f}x | {ours['step']} | {ours['capture_s']} |")

    if args.search:
        if "proxy" not in rows:
            sys.exit("--search needs the proxy mode (its reference time per candidate)")
        gpu = args.device.startswith("cuda")
        figure = run_search_figure(args, rows["proxy"][0], gpu)
        print(json.dumps({"search": figure}), flush=True)
        unit = "GPU-hour" if gpu else "CPU-hour (this machine)"
        print(f"\n| search: {args.search_trials} proxy candidates x {args.search_epochs} epochs on "
              f"{args.search_subset - args.search_val} images | candidates per {unit} |")
        print("| --- | --- |")
        print(f"| ours: run_search.py, {args.search_workers} at once"
              f"{f', {1 / args.search_workers:.2f} GPU each' if gpu else ''}, wall {figure['wall_s']:.0f} s, "
              f"{figure['trials_ok']}/{figure['trials']} ok | {figure['ours_per_hour']:,.0f} |")
        print(f"| reference, one after another ({figure['reference_s_per_candidate']:.1f} s each) | "
              f"{figure['reference_per_hour']:,.0f} |")
        print(f"| ratio | {figure['ratio']:.2f}x |")
        print(f"| ratio while trials run (after the driver's {figure['driver_start_s']:.0f} s start: Ray, data) | "
              f"{figure['steady_ratio']:.2f}x |")
        print(f"| candidates' median multiply-adds (the reference's DARTS-V2: {darts_v2_proxy_macs() / 1e6:.0f}M) | "
              f"{figure['median_macs'] / 1e6:.0f}M |")
        print(f"\n| per candidate, worker-seconds | {figure['worker_s_per_candidate']:.1f} |\n| --- | --- |")
        for label, key in (("set-up in the trial (imports, network, cost count)", "median_setup_s"),
                           ("trainer overhead (format probe, capture, loaders, evaluation)", "median_trainer_overhead_s"),
                           ("training steps", "median_step_s"),
                           ("between trials (Ray Tune, sampler, driver)", "between_trials_s")):
            print(f"| {label} | {figure[key]:.1f} |")


if __name__ == "__main__":
    main()
