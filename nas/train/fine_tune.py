"""Starting from a trained network: load its weights (the classifier replaced for the new classes), freeze its
first stages, and give the rest a smaller learning rate than the new classifier.

A stage is a stretch of the network at one resolution, found by one forward pass: the modules whose outputs are at
the input's resolution form stage 1, those after the first reduction stage 2, and so on. That is what the CNN
literature calls a stage (a ResNet's conv2_x..conv5_x, a cell network's cells between reductions), and it works
for any network, cells and baselines alike. Frozen stages keep their weights and their batch-norm statistics.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nas.errors import ConfigError
from nas.train.checkpoint import load_checkpoint


def classifier_of(model: nn.Module) -> nn.Linear:
    """The final classifier: the last Linear layer the network defines."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ConfigError(f"{type(model).__name__} has no Linear classifier to replace")
    return linears[-1]


def load_initial_weights(model: nn.Module, path: str | Path) -> list[str]:
    """Every weight of `model` from the checkpoint (ours, or a plain state dict such as torchvision's), except the
    classifier's where the class count differs; returns the names left freshly initialised."""
    state = load_checkpoint(path)
    weights = state["model"] if isinstance(state, dict) and "format" in state and "model" in state else state
    if not isinstance(weights, dict):
        raise ConfigError(f"{path} holds no state dict of weights")
    own = model.state_dict()
    head = {name for name, parameter in model.named_parameters() if any(parameter is p for p in
                                                                          classifier_of(model).parameters())}
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    wrong_shape = sorted(name for name in set(own) & set(weights) if own[name].shape != weights[name].shape)
    if missing or unexpected or set(wrong_shape) - head:
        problem = (f"{len(missing)} weight(s) missing" if missing else f"{len(unexpected)} unexpected weight(s)"
                   if unexpected else f"{(set(wrong_shape) - head).pop()} has another shape")
        raise ConfigError(f"checkpoint {path} is of another architecture than this network ({problem})")
    model.load_state_dict({name: value for name, value in weights.items() if name not in wrong_shape}, strict=False)
    return wrong_shape


def modules_by_stage(model: nn.Module, input_shape: tuple[int, int, int]) -> list[list[nn.Module]]:
    """Modules with weights, grouped by the resolution of their output (largest first), from one forward pass."""
    seen: list[tuple[nn.Module, int]] = []
    hooks = [module.register_forward_hook(lambda module, inputs, output: seen.append((module, output.shape[-1])))
             for module in model.modules()
             if any(True for _ in module.parameters(recurse=False))]
    was_training = model.training
    try:
        parameter = next(model.parameters())
        with torch.no_grad():
            model.eval()(torch.zeros((1, *input_shape), device=parameter.device, dtype=parameter.dtype))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    spatial = [(module, size) for module, size in seen if module is not classifier_of(model)]
    sizes = sorted({size for _, size in spatial}, reverse=True)
    return [[module for module, size in spatial if size == stage_size] for stage_size in sizes]


def freeze_stages(model: nn.Module, count: int, input_shape: tuple[int, int, int]) -> list[nn.Module]:
    """Freeze the first `count` stages; returns their modules (the trainer keeps them in eval mode)."""
    if count <= 0:
        return []
    stages = modules_by_stage(model, input_shape)
    if count >= len(stages):
        raise ConfigError(f"freeze_stages {count}: this network has {len(stages)} stages, and at least the last "
                          f"must train")
    frozen = [module for stage in stages[:count] for module in stage]
    for module in frozen:
        for parameter in module.parameters(recurse=False):
            parameter.requires_grad_(False)
    return frozen


def parameter_groups(model: nn.Module, lr: float, lr_backbone: float) -> list[dict]:
    """The classifier at `lr`, everything else that trains at `lr * lr_backbone` (one group when they are equal)."""
    if lr_backbone == 1.0:
        return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": lr}]
    head = list(classifier_of(model).parameters())
    backbone = [p for p in model.parameters() if p.requires_grad and not any(p is h for h in head)]
    groups = [{"params": [p for p in head if p.requires_grad], "lr": lr}]
    if backbone:
        groups.append({"params": backbone, "lr": lr * lr_backbone})
    return groups
