"""Check the engine's NAS-Bench-201 networks against the benchmark's table: parameters and FLOPs of every row.

Each architecture string is built by `build_model(genotype=arch)` (the benchmark's network: C=16, 17 cells, 10
classes) and counted at 32 px: its parameters against `params_M_cifar10`, its multiply-adds as the benchmark counts
them (nas.models.nasbench201_network.benchmark_flops) against `flops_M_cifar10`. The table prints millions rounded
(6 and 5 decimals); a count matches when it rounds to the printed figure. Every mismatch is printed, then one
summary line with the machine (15 minutes for the 15,625 rows on one core of a busy 2-core VM; BENCHMARKS.md):

    nice -n 5 python benchmarks/nasbench201_counts.py [--table nb201_cifar10.csv] [--rows N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = os.environ.get("NAS_NB201_TABLE",
                               REPO.parent / "shared" / "benchmarks" / "nasbench201" / "nb201_cifar10.csv")


def counts_match(count: int, table_millions: float, decimals: int) -> bool:
    """Whether `count` is what the table prints, rounded to `decimals` places of millions."""
    return abs(count / 1e6 - table_millions) <= 0.5 * 10 ** -decimals + 1e-12


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=str(DEFAULT_TABLE), help="the NAS-Bench-201 CSV (default $NAS_NB201_TABLE)")
    parser.add_argument("--rows", type=int, help="only the first ROWS rows (default: all)")
    args = parser.parse_args(argv)

    import pandas as pd
    import torch

    from nas.models import benchmark_flops, build_model
    from nas.models.profile import count_params

    torch.set_num_threads(1)
    table = pd.read_csv(args.table, usecols=["arch", "params_M_cifar10", "flops_M_cifar10"]).head(args.rows)
    started, param_misses, flop_misses = time.perf_counter(), 0, 0
    for count, row in enumerate(table.itertuples(index=False), start=1):
        model = build_model(genotype=row.arch)
        params, flops = count_params(model), benchmark_flops(model, (3, 32, 32))
        if not counts_match(params, row.params_M_cifar10, 6):
            param_misses += 1
            print(f"params mismatch {row.arch}: {params} vs the table's {row.params_M_cifar10}M", flush=True)
        if not counts_match(flops, row.flops_M_cifar10, 5):
            flop_misses += 1
            print(f"FLOPs mismatch {row.arch}: {flops} vs the table's {row.flops_M_cifar10}M", flush=True)
        if count % 1000 == 0:
            print(f"{count}/{len(table)} rows, {time.perf_counter() - started:.0f} s", flush=True)
    seconds = time.perf_counter() - started
    print(f"{len(table)} NAS-Bench-201 networks ({Path(args.table).name}): params match on "
          f"{len(table) - param_misses}, FLOPs on {len(table) - flop_misses}; {seconds:.0f} s "
          f"({1000 * seconds / len(table):.0f} ms a network, 1 thread) on {cpu_model()}, torch {torch.__version__}")
    return 1 if param_misses or flop_misses else 0


if __name__ == "__main__":
    sys.exit(main())
