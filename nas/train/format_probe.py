"""Choosing a network's precision and memory format by timing them, not by a fixed rule.

Which setting is fastest depends on the network and on whether launches still cost: on an H100 the DARTS proxy
ran eagerly fastest in fp32 (3,205 images/s against 2,064 for bf16 + channels_last), but captured in a CUDA graph
fastest in bf16 + channels_last (10,789 against 7,238). So, on CUDA with graphs on, the trainer captures the step
of a copy of the network in each allowed setting, times a few replays on a synthetic batch of the real shape, and
trains with the fastest. The result is kept per process for a `cache_key` (a search's candidates share one size,
so a Ray worker probes once, not once per candidate).
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from nas.train.graph_step import GraphedTrainStep
from nas.train.train_step import LossFunction, TrainStep

log = logging.getLogger("nas.train")

TIMED_REPLAYS = 8


@dataclass(frozen=True)
class StepFormat:
    bf16: bool
    channels_last: bool

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def __str__(self) -> str:
        return f"{'bf16' if self.bf16 else 'fp32'} {'channels_last' if self.channels_last else 'contiguous'}"


def candidate_formats(allow_bf16: bool) -> list[StepFormat]:
    """bf16 only where the recipe allows it; fp32 always (it is the more precise one)."""
    precisions = (True, False) if allow_bf16 else (False,)
    return [StepFormat(bf16, channels_last) for bf16 in precisions for channels_last in (True, False)]


_chosen: dict = {}  # cache_key -> StepFormat, for this process


def fastest_format(model: nn.Module, make_optimizer: Callable, loss_for: Callable[[nn.Module], LossFunction], *,
                   batch_shape: tuple, num_classes: int, grad_clip: float, allow_bf16: bool,
                   device: torch.device, cache_key=None, runner_factory=None,
                   timer: Callable | None = None) -> tuple[StepFormat, dict]:
    """The allowed format whose captured step replays fastest, and {format label: seconds per step}.

    Probes copies of `model`: the model itself is not trained. make_optimizer(parameters) and loss_for(model)
    build what the real run will use. A format whose capture fails is left out; if all fail, fp32 contiguous.
    """
    if cache_key is not None and cache_key in _chosen:
        return _chosen[cache_key], {}
    timer = timer or _replay_timer(device)
    generator = torch.Generator().manual_seed(0)  # random data: zeros can run faster than real data
    inputs = torch.randn(batch_shape, generator=generator).to(device)
    labels = torch.randint(0, num_classes, (batch_shape[0],), generator=generator).to(device)
    timings: dict[str, float] = {}
    for candidate in candidate_formats(allow_bf16):
        probe = copy.deepcopy(model).to(device=device, memory_format=candidate.memory_format).train()
        step = TrainStep(probe, make_optimizer(probe.parameters()), loss_for(probe), grad_clip=grad_clip,
                         bf16=candidate.bf16, device=device)
        graphed = GraphedTrainStep(step, runner_factory=runner_factory, warmup_steps=2)
        batch = inputs.contiguous(memory_format=candidate.memory_format)
        for _ in range(3):  # two warm-up steps, then capture and one replay
            graphed(batch, labels)
        if graphed.failed:
            continue
        timings[str(candidate)] = timer(lambda: graphed(batch, labels), TIMED_REPLAYS) / TIMED_REPLAYS
        del graphed, step, probe
        if device.type == "cuda":
            torch.cuda.empty_cache()  # give the probe's graph pool back before the next candidate
    if not timings:
        best = StepFormat(bf16=False, channels_last=False)
    else:
        label = min(timings, key=timings.get)
        best = next(c for c in candidate_formats(allow_bf16) if str(c) == label)
    log.info("step format probe: %s -> %s", ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in timings.items()), best)
    if cache_key is not None:
        _chosen[cache_key] = best
    return best, timings


def _replay_timer(device: torch.device) -> Callable:
    def timed(run, count: int) -> float:
        if device.type != "cuda":
            started = time.perf_counter()
            for _ in range(count):
                run()
            return time.perf_counter() - started
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(count):
            run()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) / 1e3

    return timed
