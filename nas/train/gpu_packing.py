"""How many candidates to run on one GPU at once (`--gpus-per-trial auto`), from a short probe of the network.

k candidates sharing a GPU cannot together beat one of them trained at k times the batch: at best the GPU runs
their kernels side by side (with CUDA MPS), which is what a k-times batch does in one process. So the probe
captures the candidate's training step at batch B, 2B, 4B, ... and times replays; while doubling the batch still
raises images/s by `min_gain`, the GPU has room for twice the candidates. Memory caps k too: k x the step's peak
memory must fit in `memory_share` of the card.

Without MPS the processes' kernels do not overlap (the GPU time-slices between contexts): sharing then only fills
the gaps one process leaves (data, Python, evaluation), so k is capped at `without_mps_cap` (2 unless measured
otherwise: BENCHMARKS.md, 'Several trials on one GPU').
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from nas.train.graph_step import GraphedTrainStep
from nas.train.train_step import TrainStep

SHARES = (1, 2, 4, 8)


@dataclass(frozen=True)
class GpuShare:
    trials_per_gpu: int
    reason: str
    images_per_sec: dict = field(default_factory=dict)  # batch multiple -> probe images/s

    @property
    def fraction(self) -> float:
        """What Ray's `gpus_per_trial` should be."""
        return 1.0 / self.trials_per_gpu


def mps_running() -> bool:
    """True when a CUDA MPS control daemon is reachable (its pipe directory exists), so contexts share the GPU."""
    pipe = Path(os.environ.get("CUDA_MPS_PIPE_DIRECTORY", "/tmp/nvidia-mps"))
    return (pipe / "control").exists()


def share_from_probe(images_per_sec: dict[int, float], *, peak_bytes: int, total_bytes: int, mps: bool,
                     min_gain: float = 1.2, memory_share: float = 0.8, without_mps_cap: int = 2) -> GpuShare:
    """The decision, apart from the measuring: images_per_sec maps a batch multiple (1, 2, 4...) to images/s."""
    trials = 1
    for multiple in SHARES[1:]:
        if multiple not in images_per_sec or images_per_sec[multiple] < min_gain * images_per_sec[trials]:
            break
        trials = multiple
    reasons = [f"batch scaling allows {trials}"]
    fits = max(1, int(memory_share * total_bytes // max(peak_bytes, 1)))
    if fits < trials:
        trials, reasons = _largest_share_up_to(fits), reasons + [f"memory fits {fits}"]
    if not mps and trials > without_mps_cap:
        trials, reasons = without_mps_cap, reasons + [f"no MPS: at most {without_mps_cap}"]
    return GpuShare(trials, "; ".join(reasons), dict(images_per_sec))


def _largest_share_up_to(limit: int) -> int:
    return max(share for share in SHARES if share <= limit)


def choose_gpu_fraction(model: nn.Module, make_optimizer: Callable, loss_for: Callable, *, batch_shape: tuple,
                        num_classes: int, grad_clip: float = 5.0, bf16: bool = True,
                        channels_last: bool = True, device: str | torch.device = "cuda", mps: bool | None = None,
                        replays: int = 10, runner_factory=None) -> GpuShare:
    """Probe copies of `model` (never the model itself) and say what share of a GPU one candidate should get.

    make_optimizer(parameters) and loss_for(network) as the trainer builds them (nas.train.step_setup); the
    probe takes a second or two for the DARTS proxy."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    mps = mps_running() if mps is None else mps
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    rates: dict[int, float] = {}
    peak = 0
    for multiple in SHARES:
        shape = (batch_shape[0] * multiple, *batch_shape[1:])
        try:
            seconds, used = _time_step(model, make_optimizer, loss_for, shape, num_classes, grad_clip, bf16 and cuda,
                                       memory_format, device, replays, runner_factory)
        except torch.OutOfMemoryError:
            break
        rates[multiple] = shape[0] * replays / seconds
        peak = used if multiple == 1 else peak
        if multiple > 1 and rates[multiple] < 1.2 * rates[multiple // 2]:
            break  # the GPU is full: larger batches only cost probe time
    total = torch.cuda.get_device_properties(device).total_memory if cuda else 1 << 40
    return share_from_probe(rates, peak_bytes=peak, total_bytes=total, mps=mps)


def _time_step(model, make_optimizer, loss_for, shape, num_classes, grad_clip, bf16, memory_format, device, replays,
               runner_factory) -> tuple[float, int]:
    cuda = device.type == "cuda"
    probe = copy.deepcopy(model).to(device=device, memory_format=memory_format).train()
    step = TrainStep(probe, make_optimizer(probe.parameters()), loss_for(probe), grad_clip=grad_clip, bf16=bf16,
                     device=device)
    graphed = GraphedTrainStep(step, runner_factory=runner_factory, warmup_steps=2)
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(shape, generator=generator).to(device).contiguous(memory_format=memory_format)
    labels = torch.randint(0, num_classes, (shape[0],), generator=generator).to(device)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    for _ in range(3):  # two warm-up steps, then capture and one replay
        graphed(inputs, labels)
    if cuda:
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(replays):
        graphed(inputs, labels)
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    used = (torch.cuda.max_memory_allocated(device) - before) if cuda else 0
    return seconds, used
