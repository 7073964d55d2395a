"""Which memory format trains faster on this CPU: channels_last or contiguous, fp32, eager steps.

    python benchmarks/cpu_format.py [--rounds 5] [--steps 4]

The recipes train in channels_last (`channels_last: true`); on CUDA with graphs a probe times both formats, on CPU
the recipe's choice is used as it is. This measures, for the networks a CPU user trains (a search's proxy cell
network at 32 px, the ImageNet-scale stacks at small width on 224 px, a CIFAR baseline), the median time of one
training step (forward, backward, SGD) in each format, rounds alternating so a load spike hits both. The strided
1x1 convolutions that crash oneDNN in channels_last (see README, "A crash in PyTorch's CPU convolutions") are
computed by the engine's workaround, so channels_last runs here at all.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]  # a checkout, uninstalled

import torch  # noqa: E402
from torch import nn  # noqa: E402

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)
from nas.models import build_model  # noqa: E402
from nas.space.genotype_files import resolve_genotype  # noqa: E402

CASES = [  # name, build_model arguments, batch, image size
    ("darts-v2 proxy, cifar stack C=16, 8 cells", dict(genotype="darts-v2", stack="cifar", channels=16, cells=8), 64, 32),
    ("darts-v2, imagenet stack C=8, 3 cells", dict(genotype="darts-v2", stack="imagenet", channels=8, cells=3), 8, 224),
    ("resnet20", dict(baseline="resnet20"), 64, 32),
]


def step_seconds(model: nn.Module, batch: torch.Tensor, labels: torch.Tensor, steps: int) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    started = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(batch), labels).backward()
        optimizer.step()
    return (time.perf_counter() - started) / steps


def measure(arguments: dict, batch_size: int, size: int, rounds: int, steps: int) -> dict[str, float]:
    if "genotype" in arguments:
        arguments = {**arguments, "genotype": resolve_genotype(arguments["genotype"])}
    torch.manual_seed(0)
    model = build_model(**arguments, num_classes=10, image_size=size).train()
    images = torch.randn(batch_size, 3, size, size)
    labels = torch.randint(0, 10, (batch_size,))
    formats = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}
    times: dict[str, list[float]] = {name: [] for name in formats}
    for round_index in range(rounds + 1):  # round 0 warms up both
        for name, memory_format in formats.items():
            model = model.to(memory_format=memory_format)
            batch = images.contiguous(memory_format=memory_format)
            seconds = step_seconds(model, batch, labels, steps)
            if round_index:
                times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4, help="training steps timed per round and format")
    args = parser.parse_args(argv)
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu_model()}, "
          f"{torch.get_num_threads()} threads, Python {platform.python_version()}, torch {torch.__version__}; "
          f"median of {args.rounds} rounds of {args.steps} steps\n")
    print("| network | batch | channels_last ms/step | contiguous ms/step | contiguous / channels_last |")
    print("| --- | --- | --- | --- | --- |")
    for name, arguments, batch_size, size in CASES:
        result = measure(arguments, batch_size, size, args.rounds, args.steps)
        last, plain = result["channels_last"] * 1000, result["contiguous"] * 1000
        print(f"| {name} | {batch_size}x{size}px | {last:.0f} | {plain:.0f} | {plain / last:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
