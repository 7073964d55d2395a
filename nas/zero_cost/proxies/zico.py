"""ZiCo (Li et al., ICLR 2023, "Zero-Cost Proxy based on Inverse Coefficient of Variation on gradients")."""

from __future__ import annotations

import math

import torch

from nas.zero_cost.probe import cross_entropy_backward, weighted_layers
from nas.zero_cost.registry import register_proxy


def zico_from_gradients(per_batch: list[list[torch.Tensor]]) -> float:
    """sum over layers of log(sum over weights of mean|g| / std(g)), the mean and standard deviation taken over
    batches; weights whose gradient does not vary are left out, as are layers with nothing left (as in the paper's
    code)."""
    total = 0.0
    for layer_gradients in zip(*per_batch):
        stacked = torch.stack([gradient.flatten().double() for gradient in layer_gradients])
        spread = stacked.std(dim=0, unbiased=False)
        varying = spread > 0
        ratio = (stacked.abs().mean(dim=0)[varying] / spread[varying]).sum().item()
        if ratio > 0:
            total += math.log(ratio)
    return total


@register_proxy("zico", paper="Li et al., ICLR 2023")
def zico(probe) -> float:
    """Inverse coefficient of variation of the weight gradients over `split` parts of the batch (2 by default)."""
    if probe.split < 2 or len(probe.inputs) < 2 * probe.split:
        raise ValueError(f"ZiCo needs at least 2 batches of 2 images, got {len(probe.inputs)} images in "
                         f"{probe.split} parts")
    probe.network.train()
    layers = weighted_layers(probe.network)
    per_batch = []
    for inputs, targets in zip(probe.inputs.chunk(probe.split), probe.targets.chunk(probe.split)):
        cross_entropy_backward(probe.network, inputs, targets)
        per_batch.append([layer.weight.grad.detach().clone() if layer.weight.grad is not None
                          else torch.zeros_like(layer.weight) for layer in layers])
    return zico_from_gradients(per_batch)
