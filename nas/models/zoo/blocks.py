"""Small pieces several baseline families share."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nas.models.strided_pointwise import conv2d


def conv3x3(c_in: int, c_out: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv_bn(c_in: int, c_out: int, kernel_size: int, stride: int = 1, groups: int = 1, relu: bool = True):
    """Conv (no bias: the BN's shift replaces it), BN and optionally ReLU: the post-activation building block."""
    layers = [conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups, bias=False),
              nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


def bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]


class ZeroPadShortcut(nn.Module):
    """Option A shortcut (He et al. 2016): subsample and pad the new channels with zeros, so shortcuts add no
    parameters (this is how the paper's ResNet-56 has 0.85M)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride = stride
        extra = c_out - c_in
        self.pad = (extra // 2, extra - extra // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, *self.pad))


class PooledClassifier(nn.Module):
    """Global average pooling and a linear classifier: the head every modern CIFAR network ends with."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(x).flatten(1))

