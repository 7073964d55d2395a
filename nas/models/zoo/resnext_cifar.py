"""CIFAR ResNeXt-29 (Xie et al. 2017, Section 5.3) and SKNet-29 (Li et al. 2019, Section 5.2), the same network with
its grouped 3x3 convolutions made selective kernel convolutions by the module the `sk_conv` op uses.

The SK paper names SKNet-29's base (ResNeXt-29 16x32d) but not the groups of its SK convolutions: with the base's 16
they would hold 37.6M parameters; with 32, SKNet-50's setting, 28.3M, 2.1% above the published 27.7M."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from nas.models.attention import SelectiveKernel
from nas.models.registry import register_baseline
from nas.models.zoo.blocks import PooledClassifier, conv_bn
from nas.models.zoo.papers import LI_2019, XIE_2017


class AggregatedBlock(nn.Module):
    """ResNeXt's bottleneck: 1x1 to `width` channels, a 3x3 with `cardinality` groups (or a selective kernel conv
    over `sk_groups` groups), 1x1 to `c_out`; a 1x1 projection with BN where the shape changes; ReLU after the sum."""

    def __init__(self, c_in: int, width: int, c_out: int, stride: int, cardinality: int, sk_groups: int | None):
        super().__init__()
        grouped = (SelectiveKernel(width, width, stride, groups=sk_groups) if sk_groups  # ends in BN + ReLU
                   else conv_bn(width, width, 3, stride, groups=cardinality))
        self.branch = nn.Sequential(conv_bn(c_in, width, 1), grouped, conv_bn(width, c_out, 1, relu=False))
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = conv_bn(c_in, c_out, 1, stride, relu=False) if needs_projection else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.branch(x) + self.shortcut(x))


class CifarResNeXt(nn.Module):
    """ResNeXt-29 (C x d): a 64-filter 3x3 stem and three stages of three blocks, 256, 512, 1024 output channels,
    C groups of d channels in the first stage's bottleneck, doubled at each stage."""

    def __init__(self, cardinality: int, group_width: int, sk_groups: int | None = None, num_classes: int = 10,
                 in_channels: int = 3, blocks_per_stage: int = 3):
        super().__init__()
        self.stem = conv_bn(in_channels, 64, 3)
        layers, c_in = [], 64
        for stage in range(3):
            width, c_out = cardinality * group_width * 2**stage, 256 * 2**stage
            for index in range(blocks_per_stage):
                stride = 2 if stage and not index else 1
                layers.append(AggregatedBlock(c_in, width, c_out, stride, cardinality, sk_groups))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.head = PooledClassifier(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)))


# name: (cardinality, group width, groups of selective kernel convs, paper, parameters as printed)
RESNEXTS = {
    "resnext29_8x64d": (8, 64, None, XIE_2017, "34.4M"),  # Table 7
    "resnext29_16x64d": (16, 64, None, XIE_2017, "68.1M"),
    "sknet29": (16, 32, 32, LI_2019, "27.7M"),  # Table 6: on ResNeXt-29 16x32d
}


for _name, (_cardinality, _width, _sk_groups, _paper, _published) in RESNEXTS.items():
    _what = "SKNet-29, selective kernels on ResNeXt-29" if _sk_groups else "ResNeXt-29"
    register_baseline(_name, partial(CifarResNeXt, _cardinality, _width, _sk_groups), image_size=32, paper=_paper,
                      published_params=_published, description=f"CIFAR {_what} ({_cardinality}x{_width}d)")
