"""Gradient proxies of pruning-at-initialisation, as Abdelfattah et al. (ICLR 2021) score whole networks: the sum
over conv and linear weights of a per-weight saliency, from one cross-entropy backward pass in training mode."""

from __future__ import annotations

import torch

from nas.zero_cost.probe import loss_gradients
from nas.zero_cost.registry import register_proxy


@register_proxy("grad_norm", paper="Abdelfattah et al., ICLR 2021")
def grad_norm(probe) -> float:
    """Sum over layers of the L2 norm of the loss gradient of the layer's weights."""
    return float(sum(gradient.norm().item() for _, gradient in loss_gradients(probe)))


@register_proxy("snip", paper="Lee et al., ICLR 2019 (SNIP), as a network score by Abdelfattah et al.")
def snip(probe) -> float:
    """Sum of |weight x gradient| (connection sensitivity) over conv and linear weights."""
    gradients = loss_gradients(probe)  # outside no_grad: it may run the backward pass
    with torch.no_grad():
        return float(sum((weight * gradient).abs().sum().item() for weight, gradient in gradients))
