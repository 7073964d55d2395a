"""jacob_cov: the first version of Mellor et al.'s "Neural Architecture Search without Training" (arXiv 2006.04647
v1), as Abdelfattah et al. compute it: how decorrelated the input Jacobians of the images of one batch are."""

from __future__ import annotations

import numpy as np
import torch

from nas.zero_cost.registry import register_proxy

EIGENVALUE_FLOOR = 1e-5  # the paper's k


def correlation_score(jacobians: np.ndarray) -> float:
    """-sum(log(lambda + k) + 1 / (lambda + k)) over the eigenvalues of the images' Jacobian correlation matrix:
    highest when the Jacobians are uncorrelated (all eigenvalues 1)."""
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobians))
    return float(-np.sum(np.log(eigenvalues + EIGENVALUE_FLOOR) + 1.0 / (eigenvalues + EIGENVALUE_FLOOR)))


@register_proxy("jacob_cov", paper="Mellor et al., arXiv 2006.04647 v1")
def jacob_cov(probe) -> float:
    """Correlation of the per-image input Jacobians of the summed outputs, one batch, training mode."""
    probe.network.train()
    probe.network.requires_grad_(False)  # only the input's gradient is needed: skip the weights'
    inputs = probe.inputs.detach().clone().requires_grad_(True)
    outputs = probe.network(inputs)
    outputs.backward(torch.ones_like(outputs))
    jacobians = inputs.grad.reshape(len(inputs), -1).double().cpu().numpy()
    return correlation_score(jacobians)
