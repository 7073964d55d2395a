"""FractalNet for CIFAR (Larsson et al. 2017): fractal blocks of C columns joined by element-wise means, with the
paper's drop-path: local (each input of a join dropped with probability 0.15, one always kept) and global (one
column for the whole network), each used for half of the training batches.

Random choices come from torch's CPU generator (also for models on the meta device or a GPU), which the trainer
seeds per epoch.

Where a block changes the width, a 1x1 conv-BN-ReLU at its entrance does it, and every 3x3 conv inside the block
keeps the width. Section 4.1's layout read literally (each column's first 3x3 conv widening, as in the authors'
Caffe generator) holds 33.7M parameters; with the 1x1 entrance the 20-layer network holds 38.65M, the 38.6M of the
paper's Table 1. `FractalNet(widen_by_1x1=False)` builds the literal layout."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.models.registry import register_model
from nas.models.zoo.blocks import conv_bn
from nas.models.zoo.papers import LARSSON_2017


@dataclass(frozen=True)
class Route:
    """How a batch goes through the joins: `column` set: global drop-path, only that column (0 = the shallowest)
    is computed; otherwise every column, with inputs of a join dropped with probability `local_drop`."""

    column: int | None = None
    local_drop: float = 0.0

    def inner(self) -> "Route":
        """The route of the fractal inside this one, whose columns are this one's columns 1 and deeper."""
        return self if self.column is None else Route(self.column - 1, self.local_drop)


def join(inputs: list[torch.Tensor], route: Route) -> torch.Tensor:
    """The mean of a join's inputs, those that local drop-path keeps (at least one)."""
    if route.local_drop > 0 and len(inputs) > 1:
        draws = torch.rand(len(inputs), device="cpu").tolist()
        kept = [x for x, draw in zip(inputs, draws) if draw >= route.local_drop]
        inputs = kept or [inputs[int(torch.randint(len(inputs), (), device="cpu"))]]
    if len(inputs) == 1:  # the mean of one tensor is itself: no copy
        return inputs[0]
    return torch.stack(inputs).mean(dim=0)


class FractalBlock(nn.Module):
    """f_1(z) = conv(z); f_{C+1}(z) = join(f_C(f_C(z)), conv(z)): a shallow conv beside two deeper fractals in a row.
    `columns` returns each column's output, unjoined, so the block's last join merges them all at once."""

    def __init__(self, c_in: int, c_out: int, columns: int, dropout: float):
        super().__init__()
        self.shallow = nn.Sequential(conv_bn(c_in, c_out, 3), nn.Dropout(dropout))
        self.first = FractalBlock(c_in, c_out, columns - 1, dropout) if columns > 1 else None
        self.second = FractalBlock(c_out, c_out, columns - 1, dropout) if columns > 1 else None

    def columns(self, x: torch.Tensor, route: Route) -> list[torch.Tensor]:
        outputs = [self.shallow(x)] if route.column in (None, 0) else []
        if self.first is not None and route.column != 0:
            inner = route.inner()
            outputs += self.second.columns(join(self.first.columns(x, inner), inner), inner)
        return outputs

    def forward(self, x: torch.Tensor, route: Route = Route()) -> torch.Tensor:
        return join(self.columns(x, route), route)


class FractalStage(nn.Module):
    """A fractal block, entered through a 1x1 conv to its width where `widen_by_1x1` and the width changes."""

    def __init__(self, c_in: int, width: int, columns: int, dropout: float, widen_by_1x1: bool):
        super().__init__()
        widen = widen_by_1x1 and c_in != width
        self.entrance = conv_bn(c_in, width, 1) if widen else nn.Identity()
        self.fractal = FractalBlock(width if widen else c_in, width, columns, dropout)

    def forward(self, x: torch.Tensor, route: Route) -> torch.Tensor:
        return self.fractal(self.entrance(x), route)


class FractalNet(nn.Module):
    """B fractal blocks of C columns, each followed by a 2x2 max pool, then a linear classifier (20 layers: B=5,
    C=3, 64, 128, 256, 512, 512 filters, dropout 0 to 0.4 by block, Section 4.1). With `widen_by_1x1`, a block
    whose width differs from its input's starts with a 1x1 conv to its width (see the module's docstring)."""

    graph_capturable = False  # the route is drawn per batch: a captured CUDA graph would replay one route

    def __init__(self, columns: int = 3, widths=(64, 128, 256, 512, 512), dropouts=(0.0, 0.1, 0.2, 0.3, 0.4),
                 num_classes: int = 10, in_channels: int = 3, local_drop: float = 0.15, global_share: float = 0.5,
                 widen_by_1x1: bool = True):
        super().__init__()
        self.columns, self.local_drop, self.global_share = columns, local_drop, global_share
        blocks, c_in = [], in_channels
        for width, dropout in zip(widths, dropouts):
            blocks.append(FractalStage(c_in, width, columns, dropout, widen_by_1x1))
            c_in = width
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.MaxPool2d(2)
        self.classifier = nn.Linear(c_in, num_classes)

    def route(self) -> Route:
        """Per batch in training: global drop-path (one column, the same in every block) or local drop-path."""
        if not self.training:
            return Route()
        if float(torch.rand((), device="cpu")) < self.global_share:
            return Route(column=int(torch.randint(self.columns, (), device="cpu")))
        return Route(local_drop=self.local_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        route = self.route()
        for block in self.blocks:
            x = self.pool(block(x, route))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


@register_model("fractalnet20", image_size=32, paper=LARSSON_2017, published_params="38.6M", min_image_size=32,
                description="CIFAR FractalNet, 20 layers (5 blocks of 3 columns, 1x1 widening entrances), local and "
                            "global drop-path")
def fractalnet20(*, num_classes: int, in_channels: int = 3) -> FractalNet:
    return FractalNet(3, num_classes=num_classes, in_channels=in_channels)
