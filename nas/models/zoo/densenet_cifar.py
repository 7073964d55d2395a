"""CIFAR DenseNet and DenseNet-BC (Huang et al. 2017)."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from nas.models.registry import register_baseline
from nas.models.zoo.blocks import bn_relu, conv3x3
from nas.models.zoo.papers import HUANG_2017


class DenseLayer(nn.Module):
    """BN-ReLU-conv3x3 producing `growth` channels (BC: a BN-ReLU-conv1x1 to 4*growth first), concatenated on."""

    def __init__(self, c_in: int, growth: int, bottleneck: bool):
        super().__init__()
        layers: list[nn.Module] = []
        if bottleneck:
            layers += [*bn_relu(c_in), nn.Conv2d(c_in, 4 * growth, 1, bias=False)]
            c_in = 4 * growth
        layers += [*bn_relu(c_in), conv3x3(c_in, growth)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class CifarDenseNet(nn.Module):
    """DenseNet-L with growth rate k for 32 px images (Huang et al. 2017): three dense blocks joined by
    BN-ReLU-conv1x1-avgpool transitions (DenseNet-BC: bottleneck layers and transitions that halve the channels)."""

    def __init__(self, depth: int, growth: int, bc: bool, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        layers_per_block = (depth - 4) // (6 if bc else 3)
        channels = 2 * growth if bc else 16
        features: list[nn.Module] = [conv3x3(in_channels, channels)]
        for block in range(3):
            for _ in range(layers_per_block):
                features.append(DenseLayer(channels, growth, bottleneck=bc))
                channels += growth
            if block < 2:
                out = channels // 2 if bc else channels
                features += [*bn_relu(channels), nn.Conv2d(channels, out, 1, bias=False), nn.AvgPool2d(2)]
                channels = out
        features += [*bn_relu(channels), nn.AdaptiveAvgPool2d(1)]
        self.features = nn.Sequential(*features)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


# name: (L, k, BC, parameters as printed in Huang et al. 2017, Table 2)
DENSENETS = {
    "densenet40": (40, 12, False, "1.0M"),
    "densenet_bc100": (100, 12, True, "0.8M"),
    "densenet_bc250": (250, 24, True, "15.3M"),
    "densenet_bc190": (190, 40, True, "25.6M"),
}


for _name, (_depth, _growth, _bc, _published) in DENSENETS.items():
    register_baseline(_name, partial(CifarDenseNet, _depth, _growth, _bc), image_size=32, paper=HUANG_2017,
                      published_params=_published,
                      description=f"CIFAR DenseNet{'-BC' if _bc else ''} (L={_depth}, k={_growth})")
