"""HRNet classification networks (Wang et al. 2020, Section 5 and Fig. 10): W18 and W32.

Four stages keep a high-resolution branch throughout and add a branch at half the resolution and twice the width at
each new stage; each module of a stage runs four basic blocks per branch, then fuses every branch into every other
(strided 3x3 convs downwards, 1x1 conv and nearest upsampling upwards, sums). The classification head turns the
branches into 128, 256, 512, 1024 channels with one bottleneck each, merges them from high to low resolution with
strided 3x3 convs, and ends in a 1x1 conv to 2048 channels, global pooling and a linear classifier. The residual
blocks are torchvision's ResNet blocks.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from nas.models.registry import register_baseline
from nas.models.zoo.blocks import conv_bn
from nas.models.zoo.papers import WANG_2020

MODULES_PER_STAGE = (1, 4, 3)  # stages 2, 3, 4; stage 1 is four bottlenecks at 64 channels
BLOCKS_PER_BRANCH = 4
HEAD_WIDTHS = (32, 64, 128, 256)  # bottleneck widths of the head: 128, 256, 512, 1024 output channels


def bottleneck(c_in: int, width: int) -> Bottleneck:
    """torchvision's bottleneck to 4*width channels, with its 1x1 projection where the width changes."""
    downsample = None
    if c_in != width * Bottleneck.expansion:
        downsample = conv_bn(c_in, width * Bottleneck.expansion, 1, relu=False)
    return Bottleneck(c_in, width, downsample=downsample)


def downsampling(c_in: int, c_out: int, steps: int) -> nn.Sequential:
    """`steps` strided 3x3 convs: the intermediate ones keep the channels and end in ReLU, the last one does not."""
    layers = [conv_bn(c_in, c_in, 3, stride=2) for _ in range(steps - 1)]
    return nn.Sequential(*layers, conv_bn(c_in, c_out, 3, stride=2, relu=False))


class FuseLayer(nn.Module):
    """Output branch `target` of a module: the sum of every branch brought to its resolution and width, ReLU."""

    def __init__(self, widths: list[int], target: int):
        super().__init__()
        self.target = target
        self.paths = nn.ModuleList(
            nn.Identity() if source == target
            else conv_bn(widths[source], widths[target], 1, relu=False) if source > target
            else downsampling(widths[source], widths[target], target - source)
            for source in range(len(widths)))

    def forward(self, branches: list[torch.Tensor]) -> torch.Tensor:
        total = 0
        for source, (path, x) in enumerate(zip(self.paths, branches)):
            y = path(x)
            if source > self.target:
                y = F.interpolate(y, scale_factor=2 ** (source - self.target), mode="nearest")
            total = total + y
        return F.relu(total)


class HighResolutionModule(nn.Module):
    def __init__(self, widths: list[int]):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(width, width) for _ in range(BLOCKS_PER_BRANCH))) for width in widths)
        self.fuse = nn.ModuleList(FuseLayer(widths, target) for target in range(len(widths)))

    def forward(self, branches: list[torch.Tensor]) -> list[torch.Tensor]:
        branches = [branch(x) for branch, x in zip(self.branches, branches)]
        return [fuse(branches) for fuse in self.fuse]


class Transition(nn.Module):
    """Into a stage with one more branch: existing branches adapt their width, the new one comes from the lowest
    resolution by a strided 3x3 conv."""

    def __init__(self, widths_in: list[int], widths_out: list[int]):
        super().__init__()
        self.paths = nn.ModuleList(
            (nn.Identity() if widths_in[index] == width else conv_bn(widths_in[index], width, 3))
            if index < len(widths_in) else conv_bn(widths_in[-1], width, 3, stride=2)
            for index, width in enumerate(widths_out))

    def forward(self, branches: list[torch.Tensor]) -> list[torch.Tensor]:
        return [path(branches[min(index, len(branches) - 1)]) for index, path in enumerate(self.paths)]


class ClassificationHead(nn.Module):
    def __init__(self, widths: list[int], num_classes: int):
        super().__init__()
        outs = [width * Bottleneck.expansion for width in HEAD_WIDTHS]
        self.increase = nn.ModuleList(bottleneck(c_in, width) for c_in, width in zip(widths, HEAD_WIDTHS))
        self.merge = nn.ModuleList(conv_bn(c_in, c_out, 3, stride=2) for c_in, c_out in zip(outs, outs[1:]))
        self.final = nn.Sequential(conv_bn(outs[-1], 2048, 1), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(2048, num_classes)

    def forward(self, branches: list[torch.Tensor]) -> torch.Tensor:
        y = self.increase[0](branches[0])
        for increase, merge, x in zip(self.increase[1:], self.merge, branches[1:]):
            y = increase(x) + merge(y)
        return self.classifier(self.final(y).flatten(1))


class HRNet(nn.Module):
    """HRNet-W`width` for classification: branch widths width, 2*width, 4*width, 8*width."""

    def __init__(self, width: int, num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(in_channels, 64, 3, stride=2), conv_bn(64, 64, 3, stride=2))
        self.stage1 = nn.Sequential(bottleneck(64, 64), *(bottleneck(256, 64) for _ in range(3)))
        stages, widths = [], [256]
        for branches, modules in enumerate(MODULES_PER_STAGE, start=2):
            new_widths = [width * 2**index for index in range(branches)]
            stages.append(nn.Sequential(Transition(widths, new_widths),
                                        *(HighResolutionModule(new_widths) for _ in range(modules))))
            widths = new_widths
        self.stages = nn.Sequential(*stages)
        self.head = ClassificationHead(widths, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages([self.stage1(self.stem(x))]))


# name: (width, parameters and multiply-adds as printed in the paper's ImageNet classification results; its
# "GFLOPs" are multiply-adds divided by 1024^3, as the authors' model summary prints them)
HRNETS = {"hrnet_w18": (18, "21.3M", "3.99Gi"), "hrnet_w32": (32, "41.2M", "8.31Gi")}


for _name, (_width, _published, _macs) in HRNETS.items():
    register_baseline(_name, partial(HRNet, _width), image_size=224, paper=WANG_2020, published_params=_published,
                      published_macs=_macs, min_image_size=32,
                      description=f"HRNet-W{_width}-C, classification network (ImageNet)")
