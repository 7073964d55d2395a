"""What the trainer may ask of a network beyond `forward(x) -> logits`: the explicit seam between the two.

A network that has drop-path, an auxiliary head or a training schedule of its own subclasses TrainableNetwork: the
trainer tells it each epoch how far training has come (`set_progress`) and the drop-path probability
(`set_drop_path`), and trains on `forward_train`, which also returns the auxiliary
logits and any penalty the network adds to its loss. Any other nn.Module (a torchvision baseline) is trained on its plain forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


@dataclass
class TrainingOutput:
    logits: torch.Tensor
    # from an auxiliary head, in training only; a tuple where there are several (GoogLeNet's two)
    aux_logits: torch.Tensor | tuple[torch.Tensor, ...] | None = None
    # a regulariser the network adds to its training loss, already weighted (CondenseNet's group lasso)
    penalty: torch.Tensor | None = None

    @property
    def aux_heads(self) -> tuple[torch.Tensor, ...]:
        """The auxiliary logits as a tuple of heads (none, one or several)."""
        heads = self.aux_logits if isinstance(self.aux_logits, tuple) else (self.aux_logits,)
        return tuple(head for head in heads if head is not None)


class TrainableNetwork(nn.Module):
    def set_drop_path(self, probability: float) -> None:
        """Drop-path probability for the coming epoch (the trainer ramps it up); networks without it ignore it."""

    def set_progress(self, progress: float) -> None:
        """The fraction of training done when an epoch starts (0 before the first), for networks whose structure
        follows a schedule (CondenseNet prunes on it); others ignore it."""

    def forward_train(self, x: torch.Tensor) -> TrainingOutput:
        return TrainingOutput(self(x))


def training_forward(model: nn.Module) -> Callable[[torch.Tensor], TrainingOutput]:
    """The function the trainer calls on a batch in training."""
    if isinstance(model, TrainableNetwork):
        return model.forward_train
    return lambda x: TrainingOutput(model(x))


def set_drop_path(model: nn.Module, probability: float) -> float | None:
    """Set the epoch's drop-path probability where the network has one; returns what was set (None: no drop-path)."""
    if isinstance(model, TrainableNetwork):
        model.set_drop_path(probability)
        return probability
    return None


def set_progress(model: nn.Module, progress: float) -> None:
    if isinstance(model, TrainableNetwork):
        model.set_progress(progress)
