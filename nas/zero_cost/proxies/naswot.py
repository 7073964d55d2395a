"""NASWOT (Mellor et al., ICML 2021, "Neural Architecture Search without Training"): how differently the ReLUs of an
untrained network cut up the images of one batch."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from nas.zero_cost.registry import register_proxy


def activation_kernel(codes: list[torch.Tensor]) -> torch.Tensor:
    """K[i, j] = number of ReLUs on which images i and j agree (both active or both inactive), summed over the
    binary activation codes of every ReLU layer: N_A minus the Hamming distance of the two codes."""
    size = codes[0].shape[0]
    kernel = torch.zeros((size, size), dtype=torch.float64, device=codes[0].device)
    counts: dict[int, tuple[torch.Tensor, int]] = {}  # a code shared by several ReLUs is multiplied, not recomputed
    for code in codes:
        held, count = counts.get(id(code), (code, 0))
        counts[id(code)] = (held, count + 1)
    for code, count in counts.values():
        # (1-c)(1-c)^T = units - r_i - r_j + c c^T, with r the active count per image: one product instead of two.
        # Each layer's counts are exact in float32 (under 2^24 units); the sum over layers is kept in float64.
        code = code.float()
        active = code.sum(dim=1)
        agree = 2.0 * (code @ code.T) - active[:, None] - active[None, :] + code.shape[1]
        kernel += count * agree.double()
    return kernel


def kernel_log_determinant(kernel: torch.Tensor) -> float:
    """log|K|; -inf when K is singular: some images share one activation pattern on every ReLU, so the network
    cannot tell them apart (a cell whose output is cut off from its input), the worst score there is."""
    sign, log_determinant = np.linalg.slogdet(kernel.cpu().numpy())
    return float(log_determinant) if sign > 0 else -math.inf


@register_proxy("naswot", cheap=True, paper="Mellor et al., ICML 2021")
def naswot(probe) -> float:
    """log|K| of the kernel of binary ReLU activation codes over one batch (no backward pass); -inf for a network
    that gives some images the same code."""
    codes: list[torch.Tensor] = []
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # id -> (the ReLU's input, its code)

    def record(module, inputs, output):
        tensor = inputs[0]
        # ReLUs fed the same tensor (one node feeding several edges) have the same code: compute it once. The
        # tensor is held in `seen`, so its id cannot be reused by another tensor during this forward pass.
        if id(tensor) not in seen:
            seen[id(tensor)] = (tensor, tensor.detach().reshape(len(tensor), -1) > 0)
        codes.append(seen[id(tensor)][1])

    handles = [module.register_forward_hook(record) for module in probe.network.modules()
               if isinstance(module, nn.ReLU)]
    try:
        probe.network.train()
        with torch.no_grad():
            probe.network(probe.inputs)
    finally:
        for handle in handles:
            handle.remove()
    if not codes:
        raise ValueError("the network has no nn.ReLU, so NASWOT has no activation pattern to compare")
    return kernel_log_determinant(activation_kernel(codes))
