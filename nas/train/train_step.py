"""One training step as a callable: the same object runs eagerly (CPU, or CUDA with graphs off) and is captured
into a CUDA graph by nas.train.graph_step, so what is learned does not depend on which path ran it."""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
from torch import nn

# (inputs, labels) -> (loss, logits); the trainer builds it, so how the model's output is read stays in trainer.py
LossFunction = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


class TrainStep:
    """Forward (under bf16 autocast when asked), loss, backward, gradient clipping, optimizer step, and running
    sums of the loss and of correct predictions kept on the device.

    Nothing here reads a value back to the host, so the step can be captured in a CUDA graph. It does not zero
    the gradients: the caller does (eagerly), or the captured backward writes fresh ones (graph).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_function: LossFunction, *,
                 grad_clip: float, bf16: bool, device: torch.device):
        self.model = model
        self.optimizer = optimizer
        self.loss_function = loss_function
        self.grad_clip = grad_clip
        self.bf16 = bf16
        self.device = torch.device(device)
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)

    def reset_sums(self) -> None:
        # in place: a captured graph holds these very tensors
        self.loss_sum.zero_()
        self.correct.zero_()

    def autocast(self):
        # The autocast weight cache must be off under graph capture (torch's CUDA-graph notes); it saves nothing
        # here, since each weight is cast once per forward anyway.
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False)

    def __call__(self, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        with self.autocast():
            loss, logits = self.loss_function(inputs, labels)
        loss.backward()
        if self.grad_clip > 0:
            # foreach on CUDA and no error_if_nonfinite: no host sync, so it can be captured
            nn.utils.clip_grad_norm_(self.parameters, self.grad_clip)
        self.optimizer.step()
        self.loss_sum += loss.detach().float() * labels.shape[0]
        self.correct += (logits.detach().argmax(1) == labels).sum()


class EagerTrainStep:
    """The plain path: zero the gradients, run the step, one batch after another."""

    description = "eager"

    def __init__(self, step: TrainStep):
        self.step = step
        self.capture_seconds = 0.0

    def start_epoch(self, capture_key=None) -> None:
        self.step.reset_sums()

    def __call__(self, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        self.step.optimizer.zero_grad(set_to_none=True)
        self.step(inputs, labels)
