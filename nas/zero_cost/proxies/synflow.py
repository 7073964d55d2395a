"""SynFlow (Tanaka et al., NeurIPS 2020), as Abdelfattah et al. score networks with it: no data at all."""

from __future__ import annotations

import torch
from torch import nn

from nas.zero_cost.probe import weighted_layers
from nas.zero_cost.registry import register_proxy


def without_batch_norm(network: nn.Module) -> nn.Module:
    """Batch norm replaced by identity: SynFlow's path norm is a property of the weights alone (bn=False in
    Abdelfattah et al.'s code), and batch statistics of an all-ones input would divide by zero."""
    for name, child in network.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(network, name, nn.Identity())
        else:
            without_batch_norm(child)
    return network


@register_proxy("synflow", needs_data=False, cheap=True, paper="Tanaka et al., NeurIPS 2020")
def synflow(probe) -> float:
    """Sum of |weight x d(sum of outputs)/d(weight)| with every weight made positive, in float64, on an all-ones
    input of one image: the synaptic flow through the network, independent of the data."""
    network = without_batch_norm(probe.network).double()
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.abs_()
    network.eval()  # nothing left that depends on the mode, but dropout must not zero a path
    network.zero_grad(set_to_none=True)
    ones = torch.ones((1, *probe.inputs.shape[1:]), dtype=torch.float64, device=probe.device)
    network(ones).sum().backward()
    with torch.no_grad():
        return float(sum((layer.weight * layer.weight.grad).abs().sum().item()
                         for layer in weighted_layers(network) if layer.weight.grad is not None))
