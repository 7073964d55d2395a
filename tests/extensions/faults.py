"""Faults on demand, for the fault-injection tests and benchmarks/soak.py: a network stack (`model.stack: faulty`)
that trains like the CIFAR stack but breaks its own training the way real trials break.

A stack rather than an op, because a stack is built once per candidate and sees its genotype: each candidate
draws its fault once, from its cell's hash, so the same cell gets the same fault on every attempt, in every run
and on any worker (an op sees only its channels and stride, and sits in a network many times).

What breaks comes from the environment, which the Ray workers of a search inherit from its driver:

    NAS_FAULTS      one fault for every candidate (`raise`, `nan`, `oom`, `kill` or `kill_once`), or chances per
                    candidate, `raise=0.05,nan=0.05,kill_once=0.1` (the rest train normally); unset: no faults
    NAS_FAULT_SEED  seeds the draws (default 0)
    NAS_FAULT_DIR   kill_once's markers, and fired.log: one line `<hash> <fault>` per fault fired

The fault fires in the first forward pass of training, that is mid-trial:

    raise      a RuntimeError                           the trial is recorded `failed` with the reason
    nan        the logits become NaN                    `diverged`
    oom        torch.OutOfMemoryError as CUDA raises it (simulated on any device)    `failed`, naming it
    kill       SIGKILL to its own worker, every attempt  Tune retries it max_retries times, then `failed`
    kill_once  SIGKILL on the first attempt only (a marker per cell made with O_EXCL)  retried once, then `ok`
"""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import torch
from torch import nn

from nas.models.registry import get_model, register_model

FAULTS = ("raise", "nan", "oom", "kill", "kill_once")


def chances(spec: str) -> dict[str, float]:
    """NAS_FAULTS as {fault: chance}: a bare fault name is a chance of 1."""
    if spec in FAULTS:
        return {spec: 1.0}
    result = {}
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        fault, _, chance = part.partition("=")
        if fault not in FAULTS:
            raise ValueError(f"NAS_FAULTS: unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        result[fault] = float(chance)
    return result


def fault_for(cell_hash: str, spec: str | None = None, seed: int | None = None) -> str | None:
    """The fault the cell `cell_hash` draws (None: it trains normally); the same answer everywhere."""
    spec = os.environ.get("NAS_FAULTS", "") if spec is None else spec
    seed = int(os.environ.get("NAS_FAULT_SEED", "0")) if seed is None else seed
    draw = random.Random(f"{seed}:{cell_hash}").random()
    for fault, chance in chances(spec).items():
        if draw < chance:
            return fault
        draw -= chance
    return None


def fault_folder() -> Path:
    folder = Path(os.environ.get("NAS_FAULT_DIR") or ".")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def first_time(name: str) -> bool:
    """True for the one process that creates the marker `name` (O_EXCL: one winner however many race)."""
    try:
        os.close(os.open(fault_folder() / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def fire(fault: str, cell_hash: str) -> None:
    """Break the running trial; nan is left to the caller, which poisons the logits."""
    if fault == "kill_once" and not first_time(f"killed-{cell_hash}"):
        return  # the retry: train normally
    with open(fault_folder() / "fired.log", "a") as log:  # written before a kill, so it survives the worker
        log.write(f"{cell_hash} {fault}\n")
    if fault == "raise":
        raise RuntimeError(f"injected fault: candidate {cell_hash} raised")
    if fault == "oom":
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected fault)")
    if fault in ("kill", "kill_once"):
        os.kill(os.getpid(), signal.SIGKILL)


def fired(folder: Path) -> list[tuple[str, str]]:
    """The faults fired so far in `folder` (NAS_FAULT_DIR), as (cell hash, fault), oldest first."""
    log = Path(folder) / "fired.log"
    return [tuple(line.split()) for line in log.read_text().splitlines()] if log.exists() else []


class FaultyNetwork(nn.Module):
    """The CIFAR network, broken by its fault in the first training step (evaluation, e.g. counting MACs, is
    left alone). A plain module: the trainer trains it on its forward."""

    def __init__(self, network: nn.Module, cell_hash: str):
        super().__init__()
        self.network, self.cell_hash = network, cell_hash
        self.fault, self.fired = fault_for(cell_hash), False

    def forward(self, inputs):
        logits = self.network(inputs)
        if self.training and self.fault is not None and not self.fired:
            self.fired = True
            fire(self.fault, self.cell_hash)
        if self.fault == "nan" and self.fired:
            logits = logits * float("nan")
        return logits


@register_model("faulty", kind="stack", image_size=32, channels=36, cells=20,
                description="the CIFAR stack with the faults NAS_FAULTS asks for (tests)")
def faulty_cifar(genotype, **sizes):
    return FaultyNetwork(get_model("cifar", kind="stack").builder(genotype, **sizes), genotype.hash())
