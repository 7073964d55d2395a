"""What the search machinery costs beside training: Ray Tune's per-trial overhead, and each sampler's ask+tell time.

    python benchmarks/search_overhead.py [--trials 24] [--workers 2] [--samplers all] [--points 10,100,1000]
                                         [--repeats 6] [--tables both|search|bare] [--skip-tune]

1. Per-trial overhead: the real SamplerSearcher and trial store drive Tune over trials whose training does
   nothing (one report), so the wall time per trial is what Ray, Tune, the adapter and the store add.
2. Sampler cost: over the NASNet space (50 decisions), each sampler is told synthetic rewards until it has
   10, 100 and 1,000 completed trials; at each point the median (and mean) time of a few trials is taken, once
   as a search pays it (study in SQLite, sampler saved after every ask and tell) and once for the bare sampler.
   The mean matters for the controller, whose learning update comes every batch_size tells.
Prints a markdown table; paste it into BENCHMARKS.md with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)
from nas.samplers import SAMPLERS, Outcome, SearchContext, make_sampler, sampler_class  # noqa: E402
from nas.search.trial_report import TrialReport  # noqa: E402
from nas.search.trial_store import TrialStore  # noqa: E402
from nas.search.tune_searcher import SamplerSearcher  # noqa: E402
from nas.space import load_space  # noqa: E402


def trivial_trial(config):
    from ray import tune

    tune.report(TrialReport(val_acc=0.5, epoch=1, val_acc_per_epoch=[0.5]).to_metrics())
    tune.report(TrialReport(val_acc=0.5, epoch=1, val_acc_per_epoch=[0.5], params=1, macs=1, final=True,
                            status="ok").to_metrics())


def tune_overhead(trials: int, workers: int) -> dict:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's console tables would bury the figures
    import ray
    from ray import tune

    space = load_space(REPOSITORY / "search_spaces" / "nasnet.yaml")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        ray_start = time.perf_counter() - started
        searcher = SamplerSearcher(sampler=make_sampler("random", space.decisions, seed=0), space=space,
                                   store=TrialStore(folder), sampler_path=Path(folder) / "sampler.json",
                                   budget=trials, rerun=[])
        tuner = tune.Tuner(
            tune.with_resources(trivial_trial, {"cpu": 1}),
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=trials, max_concurrent_trials=workers,
                                        metric="val_acc", mode="max", reuse_actors=True),
            run_config=tune.RunConfig(name="overhead", storage_path=str(Path(folder) / "ray"), verbose=0),
        )
        started = time.perf_counter()
        tuner.fit()
        elapsed = time.perf_counter() - started
        ray.shutdown()
        rows = len(TrialStore(folder))
    return {"ray_start_s": ray_start, "trials": rows, "workers": workers, "fit_s": elapsed,
            "per_trial_s": elapsed / rows, "per_trial_per_worker_s": elapsed * workers / rows}


def synthetic_reward(space, choices) -> float:
    ops = [value for decision, value in zip(space.decisions, choices) if ".op_" in decision.name]
    return sum(1 for value in ops if value == 10) / len(ops)  # 10 = sep_conv_3x3 in nasnet.yaml


def sampler_cost(name: str, points: list[int], repeats: int = 5, *, as_in_search: bool = False) -> dict[int, dict]:
    """Seconds per ask+tell after 10/100/1,000 told trials: {point: {"median": s, "mean": s}}.

    as_in_search: what a search pays per candidate: the Optuna samplers keep their study in a SQLite file, as a
    search does (Sampler.options_for_search), and the sampler is saved after every ask and every tell, as
    SamplerSearcher does. Otherwise the study is in memory and nothing is saved (the bare sampler).
    """
    space = load_space(REPOSITORY / "search_spaces" / "nasnet.yaml")
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        options = {}
        if as_in_search:
            context = SearchContext(experiment="overhead", folder=Path(folder))
            options = sampler_class(name).options_for_search({}, context, resume=False)
        sampler = make_sampler(name, space.decisions, seed=0, **options)
        sampler_path = Path(folder) / "sampler.json"

        def one_trial() -> float:
            started = time.perf_counter()
            suggestion = sampler.ask()
            if as_in_search:
                sampler.save(sampler_path)
            sampler.tell(suggestion.token, Outcome("ok", synthetic_reward(space, suggestion.choices),
                                                   {"params": rng.uniform(1e5, 1e6)}))
            if as_in_search:
                sampler.save(sampler_path)
            return time.perf_counter() - started

        timings, told = {}, 0
        for point in points:
            while told < point:
                one_trial()
                told += 1
            samples = [one_trial() for _ in range(repeats)]
            told += repeats
            timings[point] = {"median": statistics.median(samples), "mean": statistics.fmean(samples)}
    return timings


def print_sampler_table(title: str, samplers: list[str], points: list[int], repeats: int, as_in_search: bool):
    print(f"\n{title}\n")
    print("| sampler | " + " | ".join(f"at {point}: median (mean)" for point in points) + " |")
    print("| --- |" + " --- |" * len(points))
    for name in samplers:
        timings = sampler_cost(name, points, repeats, as_in_search=as_in_search)
        cells = [f"{timings[point]['median'] * 1000:.1f} ms ({timings[point]['mean'] * 1000:.1f})" for point in points]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samplers", default="all")
    parser.add_argument("--points", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=6, help="trials timed at each point (6: two controller updates)")
    parser.add_argument("--tables", choices=("both", "search", "bare"), default="both")
    parser.add_argument("--skip-tune", action="store_true", help="only the sampler tables (no Ray)")
    args = parser.parse_args()
    points = [int(point) for point in args.points.split(",")]
    samplers = SAMPLERS.names() if args.samplers == "all" else args.samplers.split(",")

    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if not args.skip_tune:
        overhead = tune_overhead(args.trials, args.workers)
        print("\n| Ray Tune layer | value |\n| --- | --- |")
        print(f"| local Ray start | {overhead['ray_start_s']:.1f} s |")
        print(f"| {overhead['trials']} trivial trials, {overhead['workers']} at once | {overhead['fit_s']:.1f} s |")
        print(f"| wall time per trial | {overhead['per_trial_s']:.2f} s |")
        print(f"| worker time per trial (wall x workers / trials) | {overhead['per_trial_per_worker_s']:.2f} s |")

    if args.tables in ("both", "search"):
        print_sampler_table("What a search pays per candidate: ask + save + tell + save (Optuna study in SQLite):",
                            samplers, points, args.repeats, as_in_search=True)
    if args.tables in ("both", "bare"):
        print_sampler_table("The bare sampler: ask + tell, study in memory, no saves:",
                            samplers, points, args.repeats, as_in_search=False)

if __name__ == "__main__":
    main()
