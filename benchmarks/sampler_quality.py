"""Sampler quality on NAS-Bench-201: every sampler, many runs, against the published numbers.

    python benchmarks/sampler_quality.py [--table CSV] [--dataset cifar10] [--runs 100] [--budget 100]
        [--out results/nasbench201]

Runs `nas bench nasbench201 --sampler all` and prints its markdown table with the command, the machine and the
date, ready to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import platform
import sys
import time
from pathlib import Path

from machine import cpu_model  # benchmarks/machine.py
from nas.cli import main as nas_main

# $NAS_NB201_TABLE, else the shared copy beside the checkout.
DEFAULT_TABLE = os.environ.get("NAS_NB201_TABLE",
                               str(Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "nasbench201"
                                   / "nb201_cifar10.csv"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=DEFAULT_TABLE)
    parser.add_argument("--dataset", default="cifar10", help="the table's dataset (column prefix)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/nasbench201")
    args = parser.parse_args()
    command = [
        "bench", "nasbench201", "--table", args.table, "--dataset", args.dataset, "--sampler", "all",
        "--budget", str(args.budget), "--runs", str(args.runs), "--seed", str(args.seed), "--out", args.out,
    ]  # fmt: skip
    started = time.perf_counter()
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):  # progress still goes to stderr
        code = nas_main(command)
    wall = time.perf_counter() - started
    if code:
        return code
    print(f"Command: `nas {' '.join(command)}`  ")
    print(f"Machine: {cpu_model()}, {os.cpu_count()} CPU cores, no GPU; Python {platform.python_version()}  ")
    print(f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; wall time {wall:.0f} s")
    print(captured.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
