"""Scoring networks with proxies: each proxy on its own copy of one seeded network, timed, and a proxy that cannot
score the network (NaN, a singular kernel, an op with no gradient) recorded with its reason instead of a crash."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from nas.errors import ConfigError, failure_line
from nas.zero_cost.probe import ProxyProbe, fresh_copy
from nas.zero_cost.registry import PROXIES, proxy_names

DEFAULT_BATCH_SIZE = 64


@dataclass
class NetworkScores:
    """One network's scores: `values[proxy]` is NaN when the proxy failed, with `reasons[proxy]` saying why."""

    values: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def row(self) -> dict:
        """Flat columns: `<proxy>`, `<proxy>_s`, and `<proxy>_reason` where one failed."""
        row: dict = {}
        for name, value in self.values.items():
            row[name] = value
            row[f"{name}_s"] = round(self.seconds[name], 6)
            if name in self.reasons:
                row[f"{name}_reason"] = self.reasons[name]
        return row

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds.values()))


def check_proxy_names(names: Sequence[str]) -> list[str]:
    """The registered names (aliases resolved), in order, once each; one ConfigError line for an unknown one."""
    resolved = []
    for name in names:
        PROXIES.get(name)  # raises naming the valid ones
        canonical = PROXIES.canonical(name)
        if canonical not in resolved:
            resolved.append(canonical)
    if not resolved:
        raise ConfigError(f"no proxy named; valid: {', '.join(proxy_names())}")
    return resolved


def score_network(network: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, proxies: Sequence[str], *,
                  num_classes: int, seed: int = 0, split: int = 2) -> NetworkScores:
    """Every proxy in `proxies` on a copy of `network` (as initialised: nothing is trained), with `inputs`/`targets`
    on the network's device. Deterministic for a seed: each proxy starts from the same weights and RNG state."""
    scores = NetworkScores()
    pristine = {key: value.detach().clone() for key, value in network.state_dict().items()}
    shared: dict = {}  # what proxies of this network reuse (nas.zero_cost.probe.loss_gradients)
    for name in check_proxy_names(proxies):
        spec = PROXIES.get(name)
        copy = fresh_copy(network)
        copy.load_state_dict(pristine)
        torch.manual_seed(seed)
        probe = ProxyProbe(copy, inputs, targets, num_classes, split, shared)
        start = time.perf_counter()
        try:
            value = float(spec.compute(probe))
            if math.isnan(value) or value == math.inf:  # -inf is a score: the worst (NASWOT's singular kernel)
                raise ValueError(f"the score is {value}")
        except (ValueError, RuntimeError, ArithmeticError, AttributeError, TypeError, IndexError) as error:
            value = math.nan
            scores.reasons[name] = f"{name}: {failure_line(error)}"
        finally:
            if probe.device.type == "cuda":
                torch.cuda.synchronize(probe.device)
        scores.values[name] = value
        scores.seconds[name] = time.perf_counter() - start
    return scores


def score_built_network(build: Callable[[], nn.Module], inputs, targets, proxies, *, num_classes: int,
                        seed: int = 0, split: int = 2) -> NetworkScores:
    """Build the network under `seed` (its initial weights depend on it), move it to the inputs' device, score it."""
    torch.manual_seed(seed)
    network = build().to(inputs.device)
    return score_network(network, inputs, targets, proxies, num_classes=num_classes, seed=seed, split=split)
