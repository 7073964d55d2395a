"""Turning the user's device string into a torch.device, with a readable error when it is not there."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from nas.errors import ConfigError
from nas.plural import count_of


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but torch sees no CUDA device here")
    return resolved


def describe_device(device) -> str:
    """The device in words, for tables and metrics: `cuda:0 (NVIDIA H100 80GB HBM3)`, `cpu (AMD EPYC ..., 2 threads)`."""
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        return f"{resolved} ({torch.cuda.get_device_name(resolved)})"
    return f"cpu ({_cpu_model()}, {count_of(torch.get_num_threads(), 'thread')})"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def claim_trial_device(cpus: float, gpus: float) -> str:
    """In a Ray trial: the device it was given (a GPU share, or CPUs), with torch's threads set to its CPUs."""
    torch.set_num_threads(max(1, int(cpus)))
    return "cuda" if gpus > 0 and torch.cuda.is_available() else "cpu"
