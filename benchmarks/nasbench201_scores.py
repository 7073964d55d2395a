"""Score NAS-Bench-201's networks with zero-cost proxies: the table `nas bench nasbench201 --scores` answers from.

Every network is built by the engine (nas.models.nasbench201_network, checked against the benchmark's parameter
and multiply-add counts) and scored on one batch of real CIFAR-10 training images: the first BATCH images of the
search's training split (seed 0), the same batch for every cell; each network initialised with seed 0. Nothing is
read from the benchmark's accuracies.

Cells are visited in one seeded random order, so any prefix of a run is a uniform sample of the space. The
table in results/zero-cost was made with the data-free proxies (params, macs, synflow: about 0.07 s a cell) over
all 15,625 cells and every other proxy over the first 2,000 cells of the order: NASWOT (0.45 s a cell) is cheap
enough to score every candidate of a search, but not 15,625 of them beside the rest on two busy cores. Resumable: a row is
appended as each cell is scored, and a rerun skips the cells already in its file. --shard K/N scores every N-th
cell of the order from the K-th, in its own file, so N processes can share the work; --merge joins the files.

    python benchmarks/nasbench201_scores.py --data /work/cifar10 --proxies params,macs,synflow &
    python benchmarks/nasbench201_scores.py --data /work/cifar10 --proxies cheap --cells 2000 --shard 0/2 &
    python benchmarks/nasbench201_scores.py --data /work/cifar10 --proxies cheap --cells 2000 --shard 1/2 &
    python benchmarks/nasbench201_scores.py --data /work/cifar10 --proxies expensive --cells 2000 --shard 0/2 &
    python benchmarks/nasbench201_scores.py --data /work/cifar10 --proxies expensive --cells 2000 --shard 1/2 &
    python benchmarks/nasbench201_scores.py --data /work/cifar10 --proxies zico --shard 0/2 &
    python benchmarks/nasbench201_scores.py --data /work/cifar10 --proxies zico --shard 1/2 &
    python benchmarks/nasbench201_scores.py --merge      # -> results/zero-cost/nasbench201_scores.csv

(The shipped table's first 256 cells of the expensive proxies were scored by one process, --shard 0/1, before the
work was split in two; a run skips the cells its sibling shards of the same proxies already hold. ZiCo was scored
again later over all 15,625 cells, in a group of its own: where two groups hold a proxy for a cell, the merge takes
the larger group's, so the zico column is that one run's throughout.)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TABLE = REPO.parent / "shared" / "benchmarks" / "nasbench201" / "nb201_cifar10.csv"
DEFAULT_OUT = REPO / "results" / "zero-cost"
ORDER_SEED = 0


def visiting_order(cells: int, seed: int = ORDER_SEED) -> np.ndarray:
    return np.random.default_rng(seed).permutation(cells)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=str(DEFAULT_TABLE), help="the NAS-Bench-201 CSV (for its arch strings)")
    parser.add_argument("--data", help="the CIFAR-10 folder (or torchvision's download folder)")
    parser.add_argument("--cache-dir", default=os.environ.get("NAS_CACHE_DIR"))
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--proxies", default="cheap", help="cheap, all, or a comma-separated list")
    parser.add_argument("--cells", type=int, help="only the first CELLS of the visiting order (default: all)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="the networks' initialisation and the split's seed")
    parser.add_argument("--shard", default="0/1", help="K/N: this process scores cells K, K+N, K+2N, ... of the order")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where the networks are scored")
    parser.add_argument("--merge", action="store_true", help="join the shard files into nasbench201_scores.csv")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.merge:
        # Only the merge needs it: scoring runs import torch and the data instead.
        from nas.zero_cost.nasbench201_scores import PROVENANCE_FILE, merge_score_files

        path = merge_score_files(out, Path(args.table), made_with={
            "commands": [line.strip() for line in __doc__.splitlines() if line.strip().startswith("python ")],
            "memory_format": "channels_last", "threads": args.threads, "machine": cpu_model()})
        print(f"wrote {path} and {out / PROVENANCE_FILE}")
        return 0
    if not args.data:
        parser.error("--data is needed to score (the CIFAR-10 folder)")

    import pandas as pd
    import torch

    from nas.data import load_dataset, make_splits
    from nas.models.nasbench201_network import NasBench201Network
    from nas.zero_cost import check_proxy_names, cheap_proxy_names, proxy_names, score_built_network
    from nas.zero_cost.batch import proxy_batch
    from nas.zero_cost.score_table import ScoreTableWriter

    torch.set_num_threads(args.threads)
    shard, shards = (int(part) for part in args.shard.split("/"))
    sets = {"cheap": cheap_proxy_names(), "all": proxy_names(),
            "expensive": [name for name in proxy_names() if name not in cheap_proxy_names()]}
    names = check_proxy_names(sets.get(args.proxies) or args.proxies.split(","))
    label = args.proxies if args.proxies in sets else "-".join(names)
    table = pd.read_csv(args.table, usecols=["index", "arch"])
    order = visiting_order(len(table))[: args.cells][shard::shards]
    dataset = load_dataset("auto", args.data, cache_dir=args.cache_dir, progress=False)
    splits = make_splits(dataset, purpose="search", seed=args.seed)
    inputs, targets = proxy_batch(splits, args.batch_size, args.device)
    # Channels-last runs these small convolutions about 1.6x faster on this CPU, with the same scores.
    inputs = inputs.contiguous(memory_format=torch.channels_last)
    device = "" if args.device == "cpu" else f"-{args.device.replace(':', '')}"
    path = out / "shards" / f"{label}-b{args.batch_size}-s{args.seed}{device}-{shard}of{shards}.csv"
    writer = ScoreTableWriter(path, names, extra=("index",))
    # Cells another run of the same proxies already scored (an earlier --shard split): not scored twice.
    done = set(writer.done)
    for sibling in path.parent.glob(f"{label}-b{args.batch_size}-s{args.seed}{device}-*of*.csv"):
        if sibling != path:
            done |= set(pd.read_csv(sibling, usecols=["key"])["key"])
    todo = [int(position) for position in order if table.arch[position] not in done]
    print(f"{len(order) - len(todo)} of {len(order)} cells already in {path}; scoring {len(todo)} with "
          f"{', '.join(names)} on {platform.node()}", flush=True)
    start = time.perf_counter()
    for count, position in enumerate(todo, start=1):
        arch = table.arch[position]
        scores = score_built_network(lambda: NasBench201Network(arch, num_classes=splits.num_classes).to(
                                         memory_format=torch.channels_last), inputs,
                                     targets, names, num_classes=splits.num_classes, seed=args.seed)
        writer.append(arch, scores, extra=(int(table["index"][position]),))
        if count % 100 == 0 or count == len(todo):
            rate = (time.perf_counter() - start) / count
            print(f"{count}/{len(todo)} cells, {rate:.2f} s a cell, {rate * (len(todo) - count) / 60:.0f} min left",
                  flush=True)
    print_seconds_table(path, names, args.device)
    return 0


def print_seconds_table(path: Path, names, device: str) -> None:
    """The median seconds a cell of each proxy over the file, as a markdown table (gpu_session.sh keeps it)."""
    import pandas as pd

    from machine import cpu_model  # benchmarks/machine.py

    frame = pd.read_csv(path)
    print(f"machine: {cpu_model()}, device {device}, {len(frame)} cells in {path.name}")
    print("| proxy | median s a cell | cells scored |")
    print("|---|---|---|")
    for name in names:
        print(f"| {name} | {frame[f'{name}_s'].median():.4f} | {int(frame[name].notna().sum())} |")


if __name__ == "__main__":
    sys.exit(main())
