"""Deciding how a run executes its training steps: eager or CUDA graph, which precision and memory format, and
the optimizer that suits the choice. The trainer asks here once per run."""

from __future__ import annotations

import torch
from torch import nn

from nas.errors import ConfigError
from nas.train.format_probe import StepFormat, fastest_format
from nas.train.graph_step import GraphedTrainStep
from nas.train.recipe import Recipe
from nas.train.train_step import EagerTrainStep, LossFunction, TrainStep


def use_cuda_graph(recipe: Recipe, device: torch.device, model: nn.Module | None = None) -> bool:
    """auto: on for CUDA (unless torch.compile is asked for, which makes its own graphs, or the model draws its
    path through itself per batch, which a captured graph would freeze); on: CUDA required."""
    if recipe.cuda_graph == "off":
        return False
    if model is not None and not getattr(model, "graph_capturable", True):
        if recipe.cuda_graph == "on":
            raise ConfigError(f"recipe {recipe.name!r}: cuda_graph: on would freeze the per-batch choices of "
                              f"{type(model).__name__}; use auto or off")
        return False
    if device.type != "cuda":
        if recipe.cuda_graph == "on":
            raise ConfigError(f"recipe {recipe.name!r}: cuda_graph: on needs a CUDA device, got {device}")
        return False
    return not recipe.compile


def make_optimizer(parameters, recipe: Recipe, *, graph: bool) -> torch.optim.SGD:
    # The fused kernel is one launch for all parameters and reads a tensor learning rate inside a graph.
    return torch.optim.SGD(parameters, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                           weight_decay=recipe.weight_decay, fused=True if graph else None)


def choose_step_format(model: nn.Module, recipe: Recipe, *, graph: bool, device: torch.device, batch_shape: tuple,
                       num_classes: int, loss_for) -> StepFormat:
    """The recipe's bf16/channels_last, or with a graph and tune_format, the fastest allowed one by a probe."""
    cuda = device.type == "cuda"
    if not (graph and recipe.tune_format):
        return StepFormat(bf16=cuda and recipe.bf16, channels_last=recipe.channels_last)
    cache_key = (type(model).__name__, batch_shape, str(device), recipe.bf16, recipe.auxiliary_weight > 0,
                 recipe.drop_path > 0)
    best, _ = fastest_format(model, lambda parameters: make_optimizer(parameters, recipe, graph=True), loss_for,
                             batch_shape=batch_shape, num_classes=num_classes, grad_clip=recipe.grad_clip,
                             allow_bf16=cuda and recipe.bf16, device=device, cache_key=cache_key)
    return best


def make_stepper(model: nn.Module, optimizer, loss_function: LossFunction, recipe: Recipe, step_format: StepFormat,
                 *, graph: bool, device: torch.device):
    step = TrainStep(model, optimizer, loss_function, grad_clip=recipe.grad_clip, bf16=step_format.bf16,
                     device=device)
    if not graph:
        return EagerTrainStep(step)
    return GraphedTrainStep(step)
