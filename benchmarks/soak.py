"""Soak test of the search engine (issue 11): a search of many trivial candidates with faults injected, its driver
SIGKILLed midway and resumed, then an account of every trial.

    python benchmarks/soak.py [--trials 40] [--workers 2] [--sampler evolution] [--kills 1] [--seed 0]
                              [--faults raise=0.04,nan=0.04,oom=0.02,kill=0.02,kill_once=0.04] [--out DIR]

Candidates are tiny (the tiny space, C=4, 3 cells, 8 px images, one epoch of two batches), so the search machinery
is what runs for most of the time. Each candidate draws its fault from its cell hash (tests/extensions/faults.py):
it raises, diverges (NaN), runs out of memory, or kills its worker on every attempt or on its first only. The
driver is killed with its local Ray at seeded moments (once the table has a seeded number of rows) and resumed
until the search is done. Then it reports the trials by status, the worker deaths and Tune's retries, the trials
lost (asked by the sampler, yet neither in the table nor answered from it: must be 0), trials whose status is not
the one their fault implies (must be 0), the wall time, and the driver's resident memory (from /proc) when each
run's first trial ended, at its end, and at its peak. Exit code 1 when anything is lost or wrong.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPOSITORY), str(REPOSITORY / "tests"), str(REPOSITORY / "tests" / "extensions")]

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)
from search_audit import audit_experiment  # noqa: E402  (tests/)
from search_fixtures import make_image_folder, write_config  # noqa: E402
from search_process import run_search, search_command, search_env  # noqa: E402

DEFAULT_FAULTS = "raise=0.04,nan=0.04,oom=0.02,kill=0.02,kill_once=0.04"
# What each fault must leave in the table: the status, and words of the reason.
EXPECTED = {None: ("ok", ""), "kill_once": ("ok", ""), "raise": ("failed", "RuntimeError: injected fault"),
            "oom": ("failed", "OutOfMemoryError"), "kill": ("failed", "worker died"), "nan": ("diverged", "NaN")}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="candidates in all (a real soak: 200-300)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sampler", default="evolution")
    parser.add_argument("--kills", type=int, default=1, help="driver SIGKILLs, each followed by --resume")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help="chance of each fault per candidate (NAS_FAULTS)")
    parser.add_argument("--max-retries", type=int, default=2, help="Tune's retries of a trial whose worker died")
    parser.add_argument("--seed", type=int, default=0, help="seeds the search, the faults and the kill moments")
    parser.add_argument("--out", type=Path, help="folder for the data and experiment (default: a new temporary one)")
    return parser.parse_args(argv)


def soak_config(folder: Path, args) -> Path:
    data = make_image_folder(folder / "data", classes=3, per_class=8, test_per_class=2, size=8)
    return write_config(folder / "soak.yaml", data, folder / "results", name="soak", sampler=args.sampler,
                        trials=args.trials, seed=args.seed, max_retries=args.max_retries, data={"val_size": 6},
                        recipe_overrides={"epochs": 1, "batch_size": 16, "channels": 4, "cells": 3},
                        model={"stack": "faulty"}, imports=["faults"], resources={"workers": args.workers})


def table_rows(experiment: Path) -> int:
    csv = experiment / "trials.csv"
    return max(len(csv.read_text().splitlines()) - 1, 0) if csv.exists() else 0  # no newlines inside fields


@dataclass
class DriverMemory:
    """The driver's resident memory, sampled once a second, with the table's row count at that moment."""

    experiment: Path
    samples: list[tuple[int, int]] = field(default_factory=list)  # (rows, VmRSS in KiB)
    peak_kib: int = 0  # VmHWM: the kernel's own high-water mark
    last: float = 0.0

    def __call__(self, pid: int) -> None:
        if time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        except (OSError, ValueError):
            return  # the driver just ended
        if "VmRSS" not in status:
            return  # ended, not yet reaped: a zombie has no memory
        self.samples.append((table_rows(self.experiment), int(status["VmRSS"].split()[0])))
        self.peak_kib = max(self.peak_kib, int(status["VmHWM"].split()[0]))

    def working(self) -> list[tuple[int, int]]:
        """The samples from the run's first trial on (before it, the driver is still starting)."""
        first_rows = self.samples[0][0] if self.samples else 0
        return [sample for sample in self.samples if sample[0] > first_rows]

    def summary(self) -> str:
        """RSS once the run's first trial ended, at its end, and its peak, in MiB."""
        working = self.working()
        if not working:
            return f"no trial ended while it was sampled (peak {self.peak_kib / 1024:.0f} MiB)"
        start, end = working[0], self.samples[-1]
        return (f"rows {start[0]}-{end[0]}: {start[1] / 1024:.0f} MiB -> {end[1] / 1024:.0f} MiB "
                f"(peak {self.peak_kib / 1024:.0f} MiB)")

    def by_rows(self, step: int = 100) -> str:
        """RSS when the table first reached each multiple of `step` rows: growth per trial shows as a slope."""
        marks = {}
        for rows, kib in self.working():
            marks.setdefault(rows // step * step, (rows, kib))
        return ", ".join(f"{rows}: {kib / 1024:.0f}" for mark, (rows, kib) in sorted(marks.items()) if mark)


def run_soak(args, folder: Path) -> tuple[list[DriverMemory], float]:
    """Drivers until the search is done: killed at `args.kills` seeded row counts, then resumed to the end."""
    config, experiment = soak_config(folder, args), folder / "results" / "soak"
    env = search_env(folder / "faults", args.faults, args.seed)
    moments = random.Random(args.seed)
    targets = sorted(moments.sample(range(max(args.trials // 5, 1), max(args.trials * 4 // 5, 2)), args.kills))
    runs, started = [], time.monotonic()
    for target in [*targets, None]:
        flags = ["--resume"] if (experiment / "experiment.yaml").exists() else []
        memory = DriverMemory(experiment)
        code, output = run_search(search_command(config, *flags), env, folder, timeout_s=6 * 3600, watch=memory,
                                  kill_after=None if target is None else moments.uniform(0, 1),
                                  once=lambda: target is None or table_rows(experiment) >= target)
        runs.append(memory)
        if code not in (None, 0):
            raise SystemExit(f"a driver failed (exit {code}):\n{output[-3000:]}")
    return runs, time.monotonic() - started


def fault_accounts(experiment: Path, fault_dir: Path, spec: str, seed: int) -> dict:
    """Each row against the fault its cell drew; worker deaths and retries from the faults' own log."""
    import pandas as pd
    from faults import fault_for, fired

    trials = pd.read_csv(experiment / "trials.csv", keep_default_na=False)
    drawn = [fault_for(cell, spec, seed) for cell in trials["hash"]]
    wrong = sum(status != EXPECTED[fault][0] or EXPECTED[fault][1] not in error
                for fault, status, error in zip(drawn, trials["status"], trials["error"]))
    deaths = sum(fault in ("kill", "kill_once") for _, fault in fired(fault_dir))
    died_for_good = drawn.count("kill")  # their last death was not retried
    return {"drawn": Counter(fault or "none" for fault in drawn), "wrong": wrong, "deaths": deaths,
            "retries": deaths - died_for_good}  # Tune's retries, and reruns after a driver kill cut one short


def report(args, runs: list[DriverMemory], seconds: float, folder: Path) -> bool:
    experiment = folder / "results" / "soak"
    audit = audit_experiment(experiment)
    faults = fault_accounts(experiment, folder / "faults", args.faults, args.seed)
    counts = audit.statuses
    lines = [
        f"soak on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu_model()}, "
        f"Python {platform.python_version()}: {args.trials} trials, sampler {args.sampler}, {args.workers} workers, "
        f"faults {args.faults}, max_retries {args.max_retries}, seed {args.seed}", "",
        "| figure | value |", "| --- | --- |",
        f"| trials in the table | {audit.rows} (ok {counts['ok']}, failed {counts['failed']}, diverged "
        f"{counts['diverged']}, pruned {counts['pruned']}) |",
        f"| faults drawn by the trials | {', '.join(f'{k} {v}' for k, v in sorted(faults['drawn'].items()))} |",
        f"| workers killed / attempts made again after one | {faults['deaths']} / {faults['retries']} |",
        f"| driver SIGKILLs, each resumed | {len(runs) - 1} |",
        f"| asked by the sampler | {audit.asked} = {audit.rows} in the table + {audit.answered_from_store} "
        f"answered from it + {audit.abandoned} half-written asks failed on resume + {audit.lost} lost |",
        f"| status or reason unlike the fault drawn | {faults['wrong']} |",
        f"| audit problems | {len(audit.problems)} |",
        f"| wall time | {seconds / 60:.1f} min ({seconds / max(audit.rows, 1):.2f} s a trial) |",
        *(f"| driver RSS, run {index + 1} | {memory.summary()} |" for index, memory in enumerate(runs)),
        *(f"| driver RSS (MiB) by rows, run {index + 1} | {memory.by_rows()} |" for index, memory in enumerate(runs)
          if memory.by_rows()),
    ]
    print("\n".join(lines + [f"problem: {problem}" for problem in audit.problems]))
    return audit.lost == 0 and not audit.problems and faults["wrong"] == 0 and audit.rows == args.trials


def main(argv=None) -> int:
    args = parse_args(argv)
    folder = args.out or Path(tempfile.mkdtemp(prefix="soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"soak folder: {folder}", flush=True)
    runs, seconds = run_soak(args, folder)
    return 0 if report(args, runs, seconds, folder) else 1


if __name__ == "__main__":
    sys.exit(main())
