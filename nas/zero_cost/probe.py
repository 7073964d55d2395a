"""What a proxy is computed from: one freshly initialised network and one mini-batch of training images."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn


@dataclass
class ProxyProbe:
    """`network` is the proxy's own copy (a proxy may change its weights or precision); `inputs`/`targets` are one
    mini-batch on the network's device; `split` says how many equal parts the batch is cut into for proxies that
    need several batches (ZiCo)."""

    network: nn.Module
    inputs: torch.Tensor
    targets: torch.Tensor
    num_classes: int
    split: int = 2
    shared: dict = field(default_factory=dict)  # results several proxies of one network may reuse (the loss gradient)

    @property
    def device(self) -> torch.device:
        return self.inputs.device


def weighted_layers(network: nn.Module) -> list[nn.Module]:
    """The conv and linear layers: the weights every gradient proxy sums over (as the papers do)."""
    return [module for module in network.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]


def fresh_copy(network: nn.Module) -> nn.Module:
    """A copy a proxy may change freely (abs weights, float64, no batch norm)."""
    return copy.deepcopy(network)


def loss_gradients(probe: ProxyProbe) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, gradient) of every conv and linear layer after one cross-entropy backward pass on the whole batch,
    in training mode, computed once per network: grad_norm and snip read the same gradient (each proxy's copy
    starts from the same weights, so the gradient is the same whichever copy computes it)."""
    if "loss_gradients" not in probe.shared:
        probe.network.train()
        cross_entropy_backward(probe.network, probe.inputs, probe.targets)
        probe.shared["loss_gradients"] = [
            (layer.weight.detach(), layer.weight.grad.detach() if layer.weight.grad is not None
             else torch.zeros_like(layer.weight)) for layer in weighted_layers(probe.network)]
    return probe.shared["loss_gradients"]


def cross_entropy_backward(network: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    network.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(network(inputs), targets)
    loss.backward()


ProbeFactory = Callable[[], ProxyProbe]
