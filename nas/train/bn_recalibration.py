"""Batch-norm recalibration: recompute the running statistics on a few training batches before evaluating.

After a short run the running averages (momentum 0.1) still carry much of the initialisation and of the early,
fast-changing weights, so eval mode can predict one class while batch statistics give a real accuracy. Averaging
the statistics of the final weights over a few batches removes that lag (Yang et al., "NAS evaluation is
frustratingly hard", 2020, recalibrate before evaluating).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


def recalibrate_batch_norm(model: nn.Module, loader, batches: int, *, device, memory_format=torch.contiguous_format,
                           frozen: tuple[nn.Module, ...] | list = ()) -> int:
    """Reset every trainable batch-norm layer's running statistics and re-estimate them as the cumulative average
    over the first `batches` batches of `loader` (train-mode forwards, no gradients). Batch-norm layers inside
    `frozen` modules keep theirs (a fine-tune's frozen stages). Returns the number of layers recalibrated."""
    if batches <= 0:
        return 0
    kept = {id(layer) for module in frozen for layer in module.modules()}
    layers = [layer for layer in model.modules()
              if isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.track_running_stats
              and id(layer) not in kept]
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    was_training = model.training
    for layer in layers:
        layer.reset_running_stats()  # in place: a captured CUDA graph still sees the same buffers
        layer.momentum = None  # cumulative average over the batches seen
    model.train()
    for module in frozen:
        module.eval()
    try:
        with torch.no_grad():
            for inputs, _ in itertools.islice(loader, batches):
                model(inputs.to(device, non_blocking=True).contiguous(memory_format=memory_format))
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.train(was_training)
    return len(layers)
