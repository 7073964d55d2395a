"""A new network stack: the CIFAR body behind a 5x5 stem of 4C channels instead of DARTS' 3x3 stem of 3C."""

from __future__ import annotations

from torch import nn

from nas.models.networks import CellNetwork
from nas.models.registry import register_model


class WideStem(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_channels, out_channels, 5, padding=2, bias=False),
                                  nn.BatchNorm2d(out_channels))
        self.channels = (out_channels, out_channels)  # what the first cell reads as its two inputs
        self.reduces = False

    def forward(self, x, drop_prob: float = 0.0):
        x = self.conv(x)
        return x, x


@register_model("wide-stem-cifar", kind="stack", image_size=32, channels=36, cells=20,
                description="CIFAR body behind a 5x5 stem of 4C channels")
def wide_stem_cifar(genotype, *, channels, cells, num_classes, in_channels=3, auxiliary=False, drop_path=0.0):
    return CellNetwork(genotype, WideStem(in_channels, 4 * channels), channels, cells, num_classes, auxiliary,
                       drop_path)
