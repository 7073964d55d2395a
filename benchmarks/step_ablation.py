"""Training-step ablation on one synthetic batch resident on the device: eager against a captured CUDA graph, in
each precision x memory format, with the capture time; plus two checks the graph path relies on.

    python benchmarks/step_ablation.py [--device cuda] [--modes proxy,full] [--steps 50]

Steps are the trainer's own (nas.train.train_step.TrainStep: forward, backward, grad clip 5, fused SGD Nesterov;
graph: nas.train.graph_step.GraphedTrainStep). Checks printed after the table:
  drop-path masks differ between replays of one graph (torch's CUDA generator advances its offset per replay);
  choose_gpu_fraction's batch-scaling probe of the proxy (what `--gpus-per-trial auto` would pick).
On a CPU (for testing this script) the graph is stood in for by EagerRunner.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from nas.models import build_model  # noqa: E402
from nas.train.format_probe import StepFormat, candidate_formats  # noqa: E402
from nas.train.gpu_packing import choose_gpu_fraction  # noqa: E402
from nas.train.graph_step import EagerRunner, GraphedTrainStep  # noqa: E402
from nas.models.trainable import training_forward  # noqa: E402
from nas.train.train_step import EagerTrainStep, TrainStep  # noqa: E402
from nas.train.trainer import loss_function  # noqa: E402

MODES = {"proxy": dict(channels=16, cells=8, batch=128, auxiliary=False, drop_path=0.0),
         "full": dict(channels=36, cells=20, batch=96, auxiliary=True, drop_path=0.2)}


def network(mode: str) -> nn.Module:
    setting = MODES[mode]
    torch.manual_seed(0)
    return build_model(genotype="darts-v2", channels=setting["channels"], cells=setting["cells"],
                       auxiliary=setting["auxiliary"], drop_path=setting["drop_path"])


def loss_for(model: nn.Module, auxiliary_weight: float):
    return loss_function(training_forward(model), nn.CrossEntropyLoss(), auxiliary_weight)


def optimizer_for(parameters, fused: bool):
    return torch.optim.SGD(parameters, lr=0.025, momentum=0.9, nesterov=True, weight_decay=3e-4,
                           fused=True if fused else None)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(mode: str, step_format: StepFormat, graph: bool, device, steps: int, batch: int | None) -> dict:
    model = network(mode).to(device=device, memory_format=step_format.memory_format).train()
    setting = MODES[mode]
    step = TrainStep(model, optimizer_for(model.parameters(), fused=graph), loss_for(model, 0.4), grad_clip=5.0,
                     bf16=step_format.bf16 and device.type == "cuda", device=device)
    runner = None if device.type == "cuda" else EagerRunner
    stepper = GraphedTrainStep(step, runner_factory=runner) if graph else EagerTrainStep(step)
    generator = torch.Generator().manual_seed(1)
    shape = (batch or setting["batch"], 3, 32, 32)
    inputs = torch.randn(shape, generator=generator).to(device).contiguous(memory_format=step_format.memory_format)
    labels = torch.randint(0, 10, (shape[0],), generator=generator).to(device)
    for _ in range(5):  # warm-up (the graph: 3 eager steps, capture, one replay)
        stepper(inputs, labels)
    sync(device)
    rounds = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(steps):
            stepper(inputs, labels)
        sync(device)
        rounds.append(shape[0] * steps / (time.perf_counter() - started))
    return {"images_per_sec": statistics.median(rounds), "capture_s": stepper.capture_seconds,
            "failed": getattr(stepper, "failed", False)}


def drop_path_masks_vary(device) -> bool:
    """Capture a step whose output is a drop-path mask; two replays must give different masks."""
    from nas.models.layers import drop_path

    ones = torch.ones(4096, 1, 1, 1, device=device)
    if device.type != "cuda":
        return not torch.equal(drop_path(ones, 0.5), drop_path(ones, 0.5))
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        drop_path(ones, 0.5)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        mask = drop_path(ones, 0.5)
    graph.replay()
    first = mask.clone()
    graph.replay()
    return not torch.equal(first, mask)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--modes", default="proxy,full")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per round (3 rounds, median)")
    parser.add_argument("--batch", type=int, help="instead of each network's own (128, 96): for a quick CPU try")
    parser.add_argument("--no-checks", action="store_true", help="skip the drop-path check and the packing probe")
    parser.add_argument("--formats", default="all", help="all, or the first only (bf16 channels_last)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {card}, torch {torch.__version__}", flush=True)
    formats = candidate_formats(allow_bf16=True)
    formats = formats if args.formats == "all" else formats[:1]
    print("\n| network | step | format | images/s | capture s |")
    print("| --- | --- | --- | --- | --- |")
    for mode in [m for m in args.modes.split(",") if m]:
        for step_format in formats:
            for graph in (False, True):
                figure = time_steps(mode, step_format, graph, device, args.steps, args.batch)
                graph_name = "cuda graph" if device.type == "cuda" else "graph logic, EagerRunner (CPU)"
                kind = ("graph (capture FAILED: eager)" if figure["failed"] else graph_name) if graph else "eager"
                print(f"| {mode} | {kind} | {step_format} | {figure['images_per_sec']:,.0f} | "
                      f"{figure['capture_s']:.3f} |", flush=True)
    if args.no_checks:
        return
    print(f"\ndrop-path masks differ between graph replays: {drop_path_masks_vary(device)}", flush=True)
    model = network("proxy")
    share = choose_gpu_fraction(model, lambda p: optimizer_for(p, fused=True), lambda m: loss_for(m, 0.0),
                                batch_shape=(args.batch or 128, 3, 32, 32), num_classes=10, device=device,
                                runner_factory=None if device.type == "cuda" else EagerRunner,
                                replays=20 if device.type == "cuda" else 1)
    rates = ", ".join(f"{k}x batch {v:,.0f} img/s" for k, v in share.images_per_sec.items())
    print(f"choose_gpu_fraction(proxy): {share.trials_per_gpu} per GPU (fraction {share.fraction:g}); "
          f"{share.reason}; probe: {rates}", flush=True)


if __name__ == "__main__":
    main()
