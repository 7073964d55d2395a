"""Starting from a trained network: load its weights (the task's heads made anew or dropped as the new network
needs), freeze its first stages, and give the rest a smaller learning rate than the new classifier.

A stage is a stretch of the network at one resolution, found by one forward pass: the modules whose outputs are at
the input's resolution form stage 1, those after the first reduction stage 2, and so on. That is what the CNN
literature calls a stage (a ResNet's conv2_x..conv5_x, a cell network's cells between reductions), and it works
for any network, cells and baselines alike. Frozen stages keep their weights and their batch-norm statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from nas.errors import ConfigError
from nas.train.checkpoint import load_checkpoint

# The attribute a cell network keeps its auxiliary classifier in (nas.models.networks.CellNetwork): a head of the
# task, like the classifier, found by name because a checkpoint may hold one the network lacks.
AUXILIARY_HEAD = "auxiliary_head"


def classifier_of(model: nn.Module) -> nn.Linear:
    """The final classifier: the last Linear layer the network defines."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ConfigError(f"{type(model).__name__} has no Linear classifier to replace")
    return linears[-1]


@dataclass(frozen=True)
class InitialWeights:
    """What `load_initial_weights` did besides loading: the task heads' weights made anew (another class count, or
    a head the checkpoint lacks) and the checkpoint's head weights this network has no place for (dropped)."""

    fresh: list[str]
    dropped: list[str]

    def describe(self, num_classes: int) -> str:
        """The part of the `nas train --init` line after the checkpoint's name (empty when all loaded)."""
        return ((f"; new for {num_classes} classes: {_by_head(self.fresh)}" if self.fresh else "")
                + (f"; dropped (no such head in this network): {_by_head(self.dropped)}" if self.dropped else ""))


def _by_head(names: list[str]) -> str:
    """The classifier's weights by name, the auxiliary head's (a dozen) as one entry."""
    auxiliary = [name for name in names if _is_auxiliary(name)]
    others = [name for name in names if name not in auxiliary]
    return ", ".join(others + ([f"{AUXILIARY_HEAD} ({len(auxiliary)} weights)"] if auxiliary else []))


def load_initial_weights(model: nn.Module, path: str | Path, *, other_classes: bool = False) -> InitialWeights:
    """Every weight of `model` from the checkpoint (ours, or a plain state dict such as torchvision's), except the
    task heads' (the classifier and the auxiliary classifier): those load where they fit, are made anew where they
    do not or the checkpoint lacks them, and are dropped where this network has none (a recipe without the
    auxiliary head). With `other_classes` (the new task's classes are not the checkpoint's, even if as many) the
    heads are made anew: the old classifier's rows would stand for the old classes. Any other difference is a
    ConfigError that names the weights."""
    state = load_checkpoint(path)
    weights = state["model"] if isinstance(state, dict) and "format" in state and "model" in state else state
    if not isinstance(weights, dict):
        raise ConfigError(f"{path} holds no state dict of weights")
    own = model.state_dict()
    head = classifier_of(model)
    classifier = {f"{name}.{key}" for name, module in model.named_modules() if module is head
                  for key in module.state_dict()}

    def task_head(name: str) -> bool:
        return name in classifier or _is_auxiliary(name)

    # In the networks' own order: the first weights named are where the two part ways (the stem, say).
    missing = [name for name in own if name not in weights]
    unexpected = [name for name in weights if name not in own]
    wrong_shape = [name for name in own if name in weights and own[name].shape != weights[name].shape]
    problems = [_count_and_some(names, what) for what, names in (
        ("missing", [name for name in missing if not task_head(name)]),
        ("unexpected", [name for name in unexpected if not task_head(name)]),
        ("of another shape", [f"{name} {list(weights[name].shape)} for {list(own[name].shape)}"
                              for name in wrong_shape if not task_head(name)])) if names]
    if problems:
        raise ConfigError(f"checkpoint {path} is of another architecture than this network "
                          f"({'; '.join(problems)})")
    if other_classes:
        wrong_shape += [name for name in own if name in weights and task_head(name) and name not in wrong_shape]
    fresh = sorted([name for name in missing if task_head(name)] + wrong_shape)
    model.load_state_dict({name: value for name, value in weights.items()
                           if name in own and name not in wrong_shape}, strict=False)
    return InitialWeights(fresh=fresh, dropped=sorted(name for name in unexpected if task_head(name)))


def _is_auxiliary(name: str) -> bool:
    return name.split(".")[0] == AUXILIARY_HEAD


def _count_and_some(names: list[str], what: str, shown: int = 3) -> str:
    """How many, and the first few by name: one line even when a whole network differs."""
    return f"{len(names)} {what}: {', '.join(names[:shown])}" + (", ..." if len(names) > shown else "")


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
