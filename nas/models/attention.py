"""Channel attention modules shared by the cell ops (`se_block`, `sk_conv`) and the SE/SK baselines.

One definition of each, so a searched cell that uses `se_block` and an SE-ResNet recalibrate channels the same way.
"""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): pool each channel, a bottleneck MLP, a sigmoid gate per channel."""

    def __init__(self, channels: int, reduction: int = 16, min_hidden: int = 4):
        super().__init__()
        # Small CIFAR widths (16 channels) would leave a 1-unit bottleneck at r=16; keep a few units.
        hidden = max(channels // reduction, min_hidden)
        self.pool = nn.AdaptiveAvgPool2d(1)
        # 1x1 convolutions are the paper's fully connected layers applied to the pooled vector.
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.act = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.expand(self.act(self.reduce(self.pool(x)))))
        return x * gate


class SelectiveKernel(nn.Module):
    """Selective kernel convolution (Li et al. 2019, SKNet): a 3x3 and a dilated 3x3 branch (a 5x5 receptive field)
    fused by a softmax attention over branches, computed per channel from the pooled sum of both."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, reduction: int = 16,
                 min_hidden: int = 32, groups: int = 1, affine: bool = True):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=dilation, dilation=dilation,
                          groups=groups, bias=False),
                nn.BatchNorm2d(out_channels, affine=affine),
                nn.ReLU(inplace=True),
            )
            for dilation in (1, 2)
        )
        hidden = max(out_channels // reduction, min_hidden)
        # No BatchNorm on the 1x1 pooled vector (the paper has one): it fails on batches of one in training.
        self.squeeze = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(out_channels, hidden, 1), nn.ReLU(inplace=True))
        self.select = nn.Conv2d(hidden, out_channels * len(self.branches), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.stack([branch(x) for branch in self.branches], dim=1)  # N, branches, C, H, W
        logits = self.select(self.squeeze(features.sum(dim=1)))
        weights = logits.view(x.shape[0], len(self.branches), -1, 1, 1).softmax(dim=1)
        return (features * weights).sum(dim=1)
