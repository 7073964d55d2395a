"""CIFAR ResNet-(6n+2) with option A shortcuts (He et al. 2016, Section 4.2), and its SE and SK versions built from
the same attention modules as the `se_block` and `sk_conv` ops."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nas.models.attention import SelectiveKernel, SqueezeExcite
from nas.models.registry import register_baseline
from nas.models.zoo.blocks import ZeroPadShortcut, conv_bn
from nas.models.zoo.papers import HE_2016, HU_2018, LI_2019


class BasicBlock(nn.Module):
    """Two 3x3 convs and a shortcut (He et al. 2016). `attention='se'` recalibrates the residual before the addition
    (SE-ResNet, Hu et al. 2018); `attention='sk'` makes the first conv a selective kernel conv (SKNet, Li et al.
    2019)."""

    def __init__(self, c_in: int, c_out: int, stride: int, attention: str | None = None):
        super().__init__()
        if attention == "sk":
            self.conv1 = SelectiveKernel(c_in, c_out, stride)  # ends in BN + ReLU like the plain path
        else:
            self.conv1 = conv_bn(c_in, c_out, 3, stride)
        self.conv2 = conv_bn(c_out, c_out, 3, relu=False)
        self.attention = SqueezeExcite(c_out) if attention == "se" else nn.Identity()
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = ZeroPadShortcut(c_in, c_out, stride) if needs_projection else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.attention(self.conv2(self.conv1(x)))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32 px images (He et al. 2016): 16, 32, 64 filters, n blocks per stage."""

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3, attention: str | None = None):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        blocks_per_stage = (depth - 2) // 6
        self.stem = conv_bn(in_channels, 16, 3)
        layers, c_in = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(BasicBlock(c_in, width, stride, attention))
                c_in = width
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.layers(self.stem(x))).flatten(1))


# He et al. 2016, Table 6: parameters as printed (two or three significant digits).
PUBLISHED = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M", 1202: "19.4M"}
VARIANTS = {  # prefix: (attention, name in words, paper); the SE and SK papers give no CIFAR ResNet sizes
    "": (None, "", HE_2016),
    "se_": ("se", "SE-", HU_2018),
    "sk_": ("sk", "SK-", LI_2019),
}


def _register(prefix: str, depth: int) -> None:
    attention, words, paper = VARIANTS[prefix]

    register_baseline(f"{prefix}resnet{depth}",
                      lambda num_classes, in_channels: CifarResNet(depth, num_classes, in_channels, attention),
                      image_size=32, paper=paper, published_params=PUBLISHED[depth] if not prefix else None,
                      description=f"CIFAR {words}ResNet-{depth} (option A shortcuts)")


for _prefix in VARIANTS:
    for _depth in PUBLISHED:
        if _depth != 1202 or not _prefix:  # the 1202-layer network exists to show overfitting; no SE/SK version
            _register(_prefix, _depth)
