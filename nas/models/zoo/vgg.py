"""VGG (Simonyan & Zisserman 2015) built from the paper's configuration table (Table 1), as data: A, A-LRN, B,
C (with its 1x1 layers), D and E. The features go into torchvision's VGG class (its classifier, pooling and
initialisation), so D and E are torchvision's vgg16 and vgg19 parameter for parameter, under the same names."""

from __future__ import annotations

from functools import partial

import torchvision.models as tv_models
from torch import nn

from nas.models.registry import register_baseline
from nas.models.zoo.papers import SIMONYAN_2015

# Table 1, column by column: "conv3-64" is 64 filters of 3x3, "M" a 2x2 max pool, "LRN" local response normalisation.
CONFIGURATIONS = {
    "A": "conv3-64 M conv3-128 M conv3-256 conv3-256 M conv3-512 conv3-512 M conv3-512 conv3-512 M",
    "A-LRN": "conv3-64 LRN M conv3-128 M conv3-256 conv3-256 M conv3-512 conv3-512 M conv3-512 conv3-512 M",
    "B": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 M conv3-512 conv3-512 M "
         "conv3-512 conv3-512 M",
    "C": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv1-256 M conv3-512 conv3-512 conv1-512 M "
         "conv3-512 conv3-512 conv1-512 M",
    "D": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv3-256 M conv3-512 conv3-512 conv3-512 M "
         "conv3-512 conv3-512 conv3-512 M",
    "E": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv3-256 conv3-256 M "
         "conv3-512 conv3-512 conv3-512 conv3-512 M conv3-512 conv3-512 conv3-512 conv3-512 M",
}
# name: (configuration, parameters as printed in Table 2)
VGGS = {
    "vgg11": ("A", "133M"),
    "vgg11_lrn": ("A-LRN", "133M"),
    "vgg13": ("B", "133M"),
    "vgg16_c": ("C", "134M"),
    "vgg16": ("D", "138M"),
    "vgg19": ("E", "144M"),
}


def vgg_features(configuration: str, in_channels: int = 3) -> nn.Sequential:
    """The convolutional part of a column of Table 1; every conv is followed by ReLU (no batch norm, as in the
    paper), LRN is Krizhevsky's (size 5, alpha 1e-4, beta 0.75, k 2)."""
    layers: list[nn.Module] = []
    channels = in_channels
    for layer in CONFIGURATIONS[configuration].split():
        if layer == "M":
            layers.append(nn.MaxPool2d(2, 2))
        elif layer == "LRN":
            layers.append(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0))
        else:
            kernel, width = layer.removeprefix("conv").split("-")
            layers += [nn.Conv2d(channels, int(width), int(kernel), padding=int(kernel) // 2), nn.ReLU(inplace=True)]
            channels = int(width)
    return nn.Sequential(*layers)


def vgg(configuration: str, num_classes: int, in_channels: int) -> tv_models.VGG:
    return tv_models.VGG(vgg_features(configuration, in_channels), num_classes=num_classes)


for _name, (_configuration, _published) in VGGS.items():
    register_baseline(_name, partial(vgg, _configuration), image_size=224, paper=SIMONYAN_2015,
                      published_params=_published, min_image_size=32,
                      description=f"VGG configuration {_configuration} (ImageNet), torchvision's VGG head")
