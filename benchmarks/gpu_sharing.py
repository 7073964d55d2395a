"""Several proxy trainings on one GPU at once: what `--gpus-per-trial 0.5` or `0.25` buys.

    python benchmarks/gpu_sharing.py --data DIR [--concurrency 1,2,4] [--subset 10000] [--epochs 1]

For each concurrency K, K processes each train the DARTS-V2 proxy (C=16, 8 cells, batch 128, bf16,
channels_last) through our trainer on the same GPU, as K Ray Tune trials with `gpus_per_trial=1/K` would. It
prints each process's training images/s and their sum. Small proxies leave a big GPU mostly idle, so the sum
should grow with K until the GPU is busy. Needs CUDA; on a machine without it, says so and exits.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def one_training(args: tuple) -> dict:
    data, subset, epochs, seed = args
    import torch

    from nas.data import load_dataset, make_splits
    from nas.models import build_model
    from nas.train import load_recipe, train

    dataset = load_dataset("auto", data, progress=False)
    splits = make_splits(dataset, purpose="search", subset=subset, val_size=1000, seed=seed)
    recipe = load_recipe("proxy", {"epochs": epochs})
    model = build_model(genotype="darts-v2", channels=16, cells=8, num_classes=dataset.num_classes,
                        in_channels=dataset.channels, image_size=dataset.image_size)
    torch.cuda.synchronize()
    result = train(model, splits, recipe, device="cuda", seed=seed, progress=False)
    return {"images_per_sec": result.images_per_sec, "wall_s": result.wall_time, "val_acc": result.val_acc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--concurrency", default="1,2,4")
    parser.add_argument("--subset", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("not measured: no CUDA device")
        return
    from nas.data import load_dataset

    dataset = load_dataset("auto", args.data, progress=False)  # decode once; the processes read the cache
    dataset.train.decoded()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print("\n| trials per GPU | images/s per trial (median) | images/s, all trials | val acc (median) |")
    print("| --- | --- | --- | --- |")
    context = multiprocessing.get_context("spawn")
    for concurrency in [int(k) for k in args.concurrency.split(",")]:
        with context.Pool(concurrency) as pool:
            started = time.perf_counter()
            results = pool.map(one_training, [(args.data, args.subset, args.epochs, seed)
                                              for seed in range(concurrency)])
            elapsed = time.perf_counter() - started
        rates = [result["images_per_sec"] for result in results]
        print(f"| {concurrency} | {statistics.median(rates):,.0f} | {sum(rates):,.0f} | "
              f"{statistics.median(r['val_acc'] for r in results):.3f} |  (wall {elapsed:.0f} s)")


if __name__ == "__main__":
    main()
