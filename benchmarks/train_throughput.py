"""Training throughput of a published cell's proxy network through our on-device loader and through a plain torch
DataLoader with torchvision transforms: same model, same run, same augmentation.

    python benchmarks/train_throughput.py --data /work/data/cifar10            # CPU, and CUDA when present

Defaults: DARTS-V2 cell, C=16, 8 cells, batch 128, the proxy recipe's augmentation (random crop pad 4, flip).
Each loader is timed for --steps training steps after --warmup untimed ones, in --rounds alternating rounds (so a
load spike on a shared machine hits both); the median round is reported. Loader-only figures (no model) show how
fast each loader can feed batches at all.
"""

from __future__ import annotations

import argparse
import contextlib
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP; see nas/cli/train_command.py

import datetime  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing the package

import torch  # noqa: E402
from torch import nn  # noqa: E402

from nas.data import load_dataset, make_splits  # noqa: E402
from nas.data.device_loader import DeviceLoader  # noqa: E402
from nas.data.stream_loader import StreamLoader  # noqa: E402
from nas.models.trainable import training_forward  # noqa: E402
from nas.train import load_recipe  # noqa: E402
from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("NAS_CIFAR10_DIR"),
                        help="CIFAR-10 folder (default $NAS_CIFAR10_DIR)")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--genotype", default="darts-v2")
    parser.add_argument("--baseline", help="time a baseline instead of a cell network")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, help="timed steps per round (default 8 on CPU, 50 on CUDA)")
    parser.add_argument("--warmup", type=int, help="untimed steps first (default 2 on CPU, 10 on CUDA)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, help="DataLoader workers (default: all cores, at most 8)")
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated; cuda is skipped when absent")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model on CUDA")
    parser.add_argument("--cache-dir")
    return parser.parse_args(argv)


def build(args, device):
    from nas.models import build_model

    torch.manual_seed(0)
    if args.baseline:
        model = build_model(baseline=args.baseline)
    else:
        model = build_model(genotype=args.genotype, channels=args.channels, cells=args.cells)
    return model.to(device=device, memory_format=torch.channels_last)


def make_loaders(splits, recipe, args, device):
    common = dict(batch_size=args.batch_size, train=True, crop_padding=recipe.crop_padding, flip=recipe.flip,
                  cutout=recipe.cutout, seed=0)
    workers = args.workers if args.workers is not None else min(8, os.cpu_count() or 1)
    return {
        "on-device loader": DeviceLoader(splits.train, device=device, mean=splits.mean, std=splits.std, **common),
        f"DataLoader ({workers} workers)": StreamLoader(
            splits.train, image_size=splits.image_size, channels=splits.channels, mean=splits.mean, std=splits.std,
            workers=workers, pin_memory=device.type == "cuda", **common),
    }


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def endless(loader):
    epoch = 0
    while True:
        loader.set_epoch(epoch)
        yield from loader
        epoch += 1


def time_training(model, step, batches, device, warmup, steps, batch_size) -> float:
    for _ in range(warmup):
        step(*next(batches))
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step(*next(batches))
    synchronize(device)
    return steps * batch_size / (time.perf_counter() - started)


LOADER_ONLY_BATCHES = 60  # well past a DataLoader's prefetched batches (workers x prefetch_factor)


def time_loading(loader, device, epoch, batch_size) -> float:
    """Batches per second from a fresh epoch, no model: the first batch (worker start-up) is not timed."""
    loader.set_epoch(epoch)
    batches = iter(loader)
    next(batches)
    synchronize(device)
    started = time.perf_counter()
    count = 0
    for images, _ in batches:
        images.to(device, non_blocking=True)
        count += 1
        if count == LOADER_ONLY_BATCHES:
            break
    synchronize(device)
    return count * batch_size / (time.perf_counter() - started)


def measure_device(device, splits, recipe, args) -> dict:
    cuda = device.type == "cuda"
    steps = args.steps or (50 if cuda else 8)
    warmup = args.warmup if args.warmup is not None else (10 if cuda else 2)
    model = build(args, device)
    forward_train = training_forward(model)
    if args.compile and cuda:
        forward_train = torch.compile(forward_train)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else contextlib.nullcontext
    criterion = nn.CrossEntropyLoss()

    def step(images, labels):  # the trainer's step: channels_last, bf16 autocast on CUDA, grad clip
        images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        labels = labels.to(device, non_blocking=True)
        with autocast():
            loss = criterion(forward_train(images).logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()

    loaders = make_loaders(splits, recipe, args, device)
    iterators = {name: endless(loader) for name, loader in loaders.items()}
    training = {name: [] for name in loaders}
    loading = {name: [] for name in loaders}
    model.train()
    for round_index in range(args.rounds):
        for name, batches in iterators.items():
            training[name].append(time_training(model, step, batches, device, warmup if round_index == 0 else 1,
                                                steps, args.batch_size))
            loading[name].append(time_loading(loaders[name], device, 1000 + round_index, args.batch_size))
            print(f"  {device.type} round {round_index + 1}: {name}: train {training[name][-1]:.0f} img/s, "
                  f"loader only {loading[name][-1]:.0f} img/s", flush=True)
    return {name: (statistics.median(training[name]), statistics.median(loading[name])) for name in loaders}




def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.data:
        print("train_throughput: give --data or set NAS_CIFAR10_DIR", file=sys.stderr)
        return 2
    recipe = load_recipe("proxy")
    dataset = load_dataset(args.dataset, args.data, cache_dir=args.cache_dir)
    splits = make_splits(dataset, purpose="search", seed=0)
    model_name = args.baseline or f"{args.genotype} C={args.channels} cells={args.cells}"
    print(f"{model_name}, batch {args.batch_size}, {len(splits.train)} training images; "
          f"augmentation: crop pad {recipe.crop_padding}, flip {recipe.flip}, cutout {recipe.cutout}")
    print(f"date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; "
          f"CPU {cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("command: python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]))
    rows = []
    for name in args.devices.split(","):
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            print("cuda: not measured: no CUDA device")
            continue
        label = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
        for loader_name, (train_rate, load_rate) in measure_device(device, splits, recipe, args).items():
            rows.append((f"{device.type} ({label})", loader_name, train_rate, load_rate))
    print("\n| device | loader | training images/s | loader only images/s |\n| --- | --- | --- | --- |")
    for device_label, loader_name, train_rate, load_rate in rows:
        print(f"| {device_label} | {loader_name} | {train_rate:.0f} | {load_rate:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
