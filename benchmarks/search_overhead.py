"""What the search machinery costs beside training: Ray Tune's per-trial overhead, and each sampler's ask+tell time.

    python benchmarks/search_overhead.py [--trials 24] [--workers 2] [--samplers all] [--points 10,100,1000]

1. Per-trial overhead: the real SamplerSearcher and trial store drive Tune over trials whose training does
   nothing (one report), so the wall time per trial is what Ray, Tune, the adapter and the store add.
2. Sampler cost: over the NASNet space (50 decisions), each sampler is told synthetic rewards until it has
   10, 100 and 1,000 completed trials; at each point the median time of a few ask+tell pairs is taken.
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

from nas.samplers import SAMPLERS, Outcome, make_sampler  # noqa: E402
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


def sampler_cost(name: str, points: list[int], repeats: int = 5) -> dict[int, float]:
    space = load_space(REPOSITORY / "search_spaces" / "nasnet.yaml")
    sampler = make_sampler(name, space.decisions, seed=0)
    rng = random.Random(0)
    timings, told = {}, 0
    for point in points:
        while told < point:
            suggestion = sampler.ask()
            sampler.tell(suggestion.token, Outcome("ok", synthetic_reward(space, suggestion.choices),
                                                   {"params": rng.uniform(1e5, 1e6)}))
            told += 1
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            suggestion = sampler.ask()
            sampler.tell(suggestion.token, Outcome("ok", synthetic_reward(space, suggestion.choices),
                                                   {"params": rng.uniform(1e5, 1e6)}))
            samples.append(time.perf_counter() - started)
            told += 1
        timings[point] = statistics.median(samples)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samplers", default="all")
    parser.add_argument("--points", default="10,100,1000")
    args = parser.parse_args()
    points = [int(point) for point in args.points.split(",")]
    samplers = SAMPLERS.names() if args.samplers == "all" else args.samplers.split(",")

    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    overhead = tune_overhead(args.trials, args.workers)
    print("\n| Ray Tune layer | value |\n| --- | --- |")
    print(f"| local Ray start | {overhead['ray_start_s']:.1f} s |")
    print(f"| {overhead['trials']} trivial trials, {overhead['workers']} at once | {overhead['fit_s']:.1f} s |")
    print(f"| wall time per trial | {overhead['per_trial_s']:.2f} s |")
    print(f"| worker time per trial (wall x workers / trials) | {overhead['per_trial_per_worker_s']:.2f} s |")

    print("\n| sampler | " + " | ".join(f"ask+tell at {point}" for point in points) + " |")
    print("| --- |" + " --- |" * len(points))
    for name in samplers:
        timings = sampler_cost(name, points)
        print(f"| {name} | " + " | ".join(f"{timings[point] * 1000:.1f} ms" for point in points) + " |")


if __name__ == "__main__":
    main()
