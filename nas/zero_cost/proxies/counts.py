"""Parameters and multiply-adds: the baselines every zero-cost proxy is measured against (Abdelfattah et al.)."""

from __future__ import annotations

from nas.models.profile import count_params, count_params_and_macs
from nas.zero_cost.registry import register_proxy


@register_proxy("params", needs_data=False, cheap=True, paper="baseline")
def params(probe) -> float:
    """Trainable parameters (auxiliary heads left out): bigger networks tend to train to better accuracy."""
    return float(count_params(probe.network))


@register_proxy("macs", needs_data=False, cheap=True, paper="baseline")
def macs(probe) -> float:
    """Multiply-adds of one image's forward pass (convolutions and matrix products)."""
    return float(count_params_and_macs(probe.network, tuple(probe.inputs.shape[1:]))["macs"])
