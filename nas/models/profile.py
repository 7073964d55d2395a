"""Parameters and multiply-adds of a model, counted the way the NAS papers report them."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

# Modules whose parameters the papers leave out of the count: auxiliary heads only help training (ours, and
# torchvision's GoogLeNet and Inception-v3 ones).
EXCLUDED_MODULES = ("auxiliary_head", "aux1", "aux2", "AuxLogits")


def count_params(model: nn.Module) -> int:
    # Match a path component, so wrapped models (torch.compile's `_orig_mod.`) are counted the same way.
    return sum(
        parameter.numel()
        for name, parameter in model.named_parameters()
        if not set(name.split(".")) & set(EXCLUDED_MODULES)
    )


def run_once(model: nn.Module, input_shape) -> int:
    """Run `model` once on zeros of `input_shape` (C, H, W) or (N, C, H, W), in eval mode (no auxiliary head, no
    drop path), without gradients, on the device and dtype of its parameters ('meta' computes nothing); returns
    the batch size, for counts per input."""
    shape = tuple(int(size) for size in input_shape)
    if len(shape) == 3:
        shape = (1, *shape)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(shape, device=device, dtype=dtype))
    finally:
        model.train(was_training)
    return shape[0]


def count_params_and_macs(model: nn.Module, input_shape) -> dict[str, int]:
    """`{'params', 'macs'}` for one input of `input_shape` (C, H, W) or (N, C, H, W).

    MACs are torch's FLOP count (convolutions and matrix products) halved: one multiply-add is two FLOPs. The model
    runs once (`run_once`); a model built on the 'meta' device is counted without computing anything.
    """
    counter = FlopCounterMode(display=False)
    with counter:
        batch = run_once(model, input_shape)
    macs = counter.get_total_flops() // 2 // batch
    return {"params": count_params(model), "macs": int(macs)}
