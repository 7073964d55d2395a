"""ShuffleNet v1 (Zhang et al. 2018) on ImageNet, groups 1 to 8, built from the unit the `shuffle_conv_3x3` op
uses (nas.models.layers.ShuffleUnit). v2 is torchvision's (nas.models.zoo.torchvision_nets)."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from nas.models.layers import ShuffleUnit
from nas.models.registry import register_baseline
from nas.models.zoo.blocks import PooledClassifier, conv_bn
from nas.models.zoo.papers import ZHANG_2018

# Table 1: output channels of stages 2-4 at 1x for each group count, and the paper's complexity (multiply-adds).
STAGE_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                  8: (384, 768, 1536)}
PUBLISHED_MACS = {1: "143M", 2: "140M", 3: "137M", 4: "133M", 8: "137M"}
UNITS_PER_STAGE = (4, 8, 4)


class ShuffleBlock(nn.Module):
    """The unit with its shortcut: identity and addition, or at stride 2 a 3x3 average pool concatenated with the
    branch (which then makes only the channels the concatenation lacks); ReLU after either. The bottleneck is a
    quarter of the unit's output channels."""

    def __init__(self, c_in: int, c_out: int, stride: int, groups: int, first_groups: int | None = None):
        super().__init__()
        self.stride = stride
        branch_out = c_out - c_in if stride == 2 else c_out
        self.branch = ShuffleUnit(c_in, stride, groups, bottleneck=c_out // 4, c_out=branch_out,
                                  first_groups=first_groups, leading_relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            return F.relu(torch.cat([F.avg_pool2d(x, 3, 2, 1), self.branch(x)], dim=1))
        return F.relu(x + self.branch(x))


class ShuffleNetV1(nn.Module):
    """ShuffleNet 1x with g groups (Table 1): a 24-filter 3x3/2 conv and a 3x3/2 max pool, stages of 4, 8, 4 units
    (the first of each strided), global pooling and a fully connected classifier."""

    def __init__(self, groups: int, num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(in_channels, 24, 3, stride=2), nn.MaxPool2d(3, 2, 1))
        units, c_in = [], 24
        for stage, (c_out, count) in enumerate(zip(STAGE_CHANNELS[groups], UNITS_PER_STAGE)):
            for index in range(count):
                first_groups = 1 if stage == 0 and index == 0 else None  # 24 input channels: too few to group
                units.append(ShuffleBlock(c_in, c_out, 2 if index == 0 else 1, groups, first_groups))
                c_in = c_out
        self.stages = nn.Sequential(*units)
        self.head = PooledClassifier(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


for _groups in STAGE_CHANNELS:
    register_baseline(f"shufflenet_v1_g{_groups}", partial(ShuffleNetV1, _groups), image_size=224, paper=ZHANG_2018,
                      published_macs=PUBLISHED_MACS[_groups],
                      description=f"ShuffleNet v1 1x, {_groups} group{'s' if _groups > 1 else ''} (ImageNet)")
