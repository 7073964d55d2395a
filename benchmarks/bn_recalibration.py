"""Does batch-norm recalibration help short proxy runs? Trains a few small cell networks the way the quick search
does (C=8, 5 cells, proxy recipe with the quick search's overrides, class-balanced 4,000 training images, 1,000
validation) and evaluates each trained network twice on the validation split: with the running statistics the
training left, and after recalibrating them on K training batches (nas.train.bn_recalibration; same weights, so
the difference is the statistics alone). Also with batch statistics (train-mode BN on the eval batches), the
number people quote when eval mode collapses. Cases: the quick search's proxy (2 epochs on 4,000 images), 1 epoch
on the same, and 1 epoch on 1,000 images (about 15 steps: the running averages, momentum 0.1, still hold a fifth
of their initial values, which is where eval mode collapses onto one class).

    python benchmarks/bn_recalibration.py --data /work/cifar10 [--networks 3] [--batches 5,20] \
        [--cases 1x1000,1x4000,2x4000]

Prints one table: per case and evaluation, the median over the networks of val accuracy and of the top class's
share of predictions, and how many networks nas.train.degenerate flags.
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from nas.data import load_dataset, make_splits  # noqa: E402
from nas.data.loaders import make_loader  # noqa: E402
from nas.package_files import SEARCH_SPACES_DIR  # noqa: E402
from nas.space.base import load_space  # noqa: E402
from nas.train import train  # noqa: E402
from nas.train.bn_recalibration import recalibrate_batch_norm  # noqa: E402
from nas.train.degenerate import degenerate_kind  # noqa: E402
from nas.train.network_for_data import network_for_data  # noqa: E402
from nas.train.recipe import load_recipe  # noqa: E402

# The quick search's overrides of the proxy recipe (search_spaces/quick.yaml), recalibration off while training.
QUICK_PROXY = {"batch_size": 64, "lr": 0.1, "channels": 8, "cells": 5, "bn_recalibration_batches": 0}


def evaluate(model, loader, batch_statistics: bool = False) -> tuple[float, float]:
    """(accuracy, share of the most-predicted class) on the loader's images."""
    model.train(batch_statistics)
    correct, count, predicted = 0, 0, torch.zeros(0, dtype=torch.long)
    with torch.no_grad():
        for inputs, labels in loader:
            probe = copy.deepcopy(model) if batch_statistics else model  # keep the running stats untouched
            predictions = probe(inputs).argmax(1)
            correct += int((predictions == labels).sum())
            count += len(labels)
            counts = torch.bincount(predictions, minlength=10)
            predicted = counts if not len(predicted) else predicted + counts
    return correct / count, int(predicted.max()) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--networks", type=int, default=3)
    parser.add_argument("--batches", default="5,20", help="recalibration batches to try (comma-separated)")
    parser.add_argument("--cases", default="1x1000,1x4000,2x4000",
                        help="EPOCHSxTRAINING_IMAGES, comma-separated (class-balanced, plus the validation images)")
    parser.add_argument("--val-size", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    batch_counts = [int(b) for b in args.batches.split(",")]

    dataset = load_dataset("auto", args.data, progress=False)
    space = load_space(SEARCH_SPACES_DIR / "nasnet.yaml")
    genotypes = [space.decode(space.sample(random.Random(index))) for index in range(args.networks)]
    rows: dict[tuple[int, str], list[tuple[float, float]]] = {}
    recalibration_seconds: dict[int, list[float]] = {}
    started = time.perf_counter()
    for case in args.cases.split(","):
        epochs, images = map(int, case.split("x"))
        # 1,000 validation images (seeded, class-stratified) held out of each case's class-balanced subset
        splits = make_splits(dataset, purpose="search", subset=images + args.val_size, val_size=args.val_size, seed=0)
        print(splits.describe())
        recipe = load_recipe("proxy", {**QUICK_PROXY, "epochs": epochs})
        val_loader = make_loader(splits.val, splits, train=False, batch_size=recipe.eval_batch_size, device="cpu")
        for index, genotype in enumerate(genotypes):
            model = network_for_data(recipe=recipe, genotype=genotype, num_classes=splits.num_classes,
                                     in_channels=splits.channels, image_size=splits.image_size, seed=index)
            result = train(model, splits, recipe, seed=index, progress=False)
            trained = copy.deepcopy(model.state_dict())
            rows.setdefault((case, "running stats (off)"), []).append(evaluate(model, val_loader))
            rows.setdefault((case, "batch statistics"), []).append(evaluate(model, val_loader, True))
            for count in batch_counts:
                model.load_state_dict(trained)
                train_loader = make_loader(splits.train, splits, train=True, batch_size=recipe.batch_size,
                                           device="cpu", seed=index)
                train_loader.set_epoch(epochs - 1)
                seconds = time.perf_counter()
                recalibrate_batch_norm(model, train_loader, count, device="cpu")
                recalibration_seconds.setdefault(count, []).append(time.perf_counter() - seconds)
                rows.setdefault((case, f"recalibrated, {count} batches"), []).append(evaluate(model, val_loader))
            print(f"{case}, network {index}: trained in {result.wall_time:.0f} s "
                  f"(train acc {result.history[-1].train_acc:.3f}); {time.perf_counter() - started:.0f} s so far",
                  flush=True)
    print()
    print("| epochs x training images | evaluation | median val acc | median top-class share | degenerate |")
    print("|---|---|---|---|---|")
    for (case, how), values in rows.items():
        accuracies, shares = [v[0] for v in values], [v[1] for v in values]
        flagged = sum(bool(degenerate_kind(a, splits.num_classes, s, len(splits.val))) for a, s in values)
        print(f"| {case} | {how} | {100 * statistics.median(accuracies):.1f}% "
              f"({', '.join(f'{100 * a:.1f}' for a in accuracies)}) | {100 * statistics.median(shares):.0f}% | "
              f"{flagged}/{len(values)} |")
    for count, seconds in recalibration_seconds.items():
        print(f"recalibration on {count} batches: median {statistics.median(seconds):.2f} s")
    print(f"\n{len(genotypes)} networks (nasnet.yaml, random.Random(i) samples), {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
