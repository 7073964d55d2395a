"""The networks before batch normalisation: LeNet-5 (LeCun et al. 1998) and Network in Network (Lin et al. 2014).
AlexNet is torchvision's (nas.models.zoo.torchvision_nets)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nas.models.registry import register_model
from nas.models.zoo.papers import LECUN_1998, LIN_2014


class ScaledTanh(nn.Module):
    """LeNet-5's squashing function f(a) = 1.7159 tanh(2a/3) (Appendix A of the paper)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """LeNet-5's S layers: the sum of each 2x2 neighbourhood times a trainable coefficient plus a trainable bias,
    one of each per map, then the squashing function."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels, 1, 1))
        self.squash = ScaledTanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.squash(4 * F.avg_pool2d(x, 2) * self.weight + self.bias)


# Table I of the paper: the S2 maps each C3 map reads (the first six read three neighbours, the next nine four,
# the last all six), which breaks the symmetry between maps and keeps C3 at 1,516 parameters.
C3_CONNECTIONS = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class PartialConv(nn.Module):
    """C3: one 5x5 convolution per output map over the input maps the connection table names."""

    def __init__(self, connections=C3_CONNECTIONS, kernel_size: int = 5):
        super().__init__()
        self.connections = [list(inputs) for inputs in connections]
        self.convs = nn.ModuleList(nn.Conv2d(len(inputs), 1, kernel_size) for inputs in connections)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x[:, inputs]) for conv, inputs in zip(self.convs, self.connections)], dim=1)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998, Section II.B) for 32x32 inputs: C1 (6 maps 5x5), S2, C3 (16 maps, partial
    connections), S4, C5 (120 maps 5x5, 1x1 here), F6 (84 units), scaled tanh throughout. The output layer is a
    linear classifier instead of the paper's fixed Euclidean RBF units; its 850 weights are within the 60K the
    paper gives (60,000 without them)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), ScaledTanh(), Subsampling(6),
            PartialConv(), ScaledTanh(), Subsampling(16),
            nn.Conv2d(16, 120, 5), ScaledTanh(),
        )
        self.f6 = nn.Sequential(nn.Linear(120, 84), ScaledTanh())
        self.classifier = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.f6(self.features(x).flatten(1)))


@register_model("lenet5", image_size=32, paper=LECUN_1998, published_params="60K", min_image_size=32,
                max_image_size=32, description="LeNet-5 for 32x32 inputs (partial C3 connections, scaled tanh)")
def lenet5(*, num_classes: int, in_channels: int = 3) -> LeNet5:
    return LeNet5(num_classes, in_channels)


def mlpconv(c_in: int, widths: tuple[int, int, int], kernel_size: int) -> list[nn.Module]:
    """An mlpconv layer: a k x k convolution then two 1x1 ones (the micro network), ReLU after each."""
    layers: list[nn.Module] = []
    for index, width in enumerate(widths):
        size = kernel_size if index == 0 else 1
        layers += [nn.Conv2d(c_in, width, size, padding=size // 2), nn.ReLU(inplace=True)]
        c_in = width
    return layers


class NetworkInNetwork(nn.Module):
    """Network in Network for CIFAR-10 (Lin et al. 2014, Section 4.2 and the authors' published model): three
    mlpconv layers (192-160-96, 192-192-192, 192-192-classes), 3x3/2 max then average pooling and dropout 0.5
    between them, and global average pooling of the last layer's class maps instead of fully connected layers."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.features = nn.Sequential(
            *mlpconv(in_channels, (192, 160, 96), 5), nn.MaxPool2d(3, 2, ceil_mode=True), nn.Dropout(0.5),
            *mlpconv(96, (192, 192, 192), 5), nn.AvgPool2d(3, 2, ceil_mode=True), nn.Dropout(0.5),
            *mlpconv(192, (192, 192, num_classes), 3),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)


@register_model("nin", image_size=32, paper=LIN_2014,
                description="CIFAR Network in Network: three mlpconv layers and global average pooling")
def nin(*, num_classes: int, in_channels: int = 3) -> NetworkInNetwork:
    return NetworkInNetwork(num_classes, in_channels)
