"""ImageNet networks torchvision defines, used as torchvision defines them (untrained); only the first convolution
is swapped where the input is not RGB, and the class count is passed through."""

from __future__ import annotations

from functools import partial

import torchvision.models as tv_models
from torch import nn

from nas.models.registry import register_baseline, register_model
from nas.models.zoo.papers import HE_2016, HUANG_2017, KRIZHEVSKY_2012, MA_2018, XIE_2017


def replace_first_conv(model: nn.Module, in_channels: int) -> nn.Module:
    """torchvision models take RGB; for other inputs swap the first convolution for one with `in_channels` inputs."""
    if in_channels == 3:
        return model
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                setattr(parent, name, nn.Conv2d(
                    in_channels, child.out_channels, child.kernel_size, stride=child.stride, padding=child.padding,
                    dilation=child.dilation, groups=1, bias=child.bias is not None))
                return model
    raise ValueError(f"{type(model).__name__} has no convolution to adapt to {in_channels} input channels")


# our name: (torchvision function, paper, torchvision's parameter count at 1000 classes)
TORCHVISION_BASELINES = {
    "alexnet": ("alexnet", KRIZHEVSKY_2012, 61_100_840),  # the one-GPU variant of Krizhevsky 2014
    "resnet18": ("resnet18", HE_2016, 11_689_512),
    "resnet34": ("resnet34", HE_2016, 21_797_672),
    "resnet50": ("resnet50", HE_2016, 25_557_032),
    "resnet101": ("resnet101", HE_2016, 44_549_160),
    "resnet152": ("resnet152", HE_2016, 60_192_808),
    "resnext50_32x4d": ("resnext50_32x4d", XIE_2017, 25_028_904),
    "resnext101_32x8d": ("resnext101_32x8d", XIE_2017, 88_791_336),
    "resnext101_64x4d": ("resnext101_64x4d", XIE_2017, 83_455_272),
    "shufflenet_v2_x0_5": ("shufflenet_v2_x0_5", MA_2018, 1_366_792),
    "shufflenet_v2": ("shufflenet_v2_x1_0", MA_2018, 2_278_604),
    "shufflenet_v2_x1_5": ("shufflenet_v2_x1_5", MA_2018, 3_503_624),
    "shufflenet_v2_x2_0": ("shufflenet_v2_x2_0", MA_2018, 7_393_996),
    "densenet121": ("densenet121", HUANG_2017, 7_978_856),
    "densenet161": ("densenet161", HUANG_2017, 28_681_000),
    "densenet169": ("densenet169", HUANG_2017, 14_149_480),
    "densenet201": ("densenet201", HUANG_2017, 20_013_928),
}


def torchvision_network(function: str, num_classes: int, in_channels: int) -> nn.Module:
    return replace_first_conv(getattr(tv_models, function)(weights=None, num_classes=num_classes), in_channels)


# Multiply-adds per 224 px image as the papers print them, where torchvision's definition matches them within 2%
# (its ResNet-50/101 stride in the 3x3 conv, not the paper's 1x1, and cost 4.1G and 7.8G instead of 3.8G and 7.6G).
PUBLISHED_MACS = {"resnet18": "1.8G", "resnet34": "3.6G", "resnet152": "11.3G", "resnext50_32x4d": "4.2G",
                  "shufflenet_v2_x0_5": "41M", "shufflenet_v2": "146M", "shufflenet_v2_x1_5": "299M",
                  "shufflenet_v2_x2_0": "591M"}

for _name, (_function, _paper, _published) in TORCHVISION_BASELINES.items():
    register_baseline(_name, partial(torchvision_network, _function), image_size=224, paper=_paper,
                      published_params=_published, source="torchvision", published_macs=PUBLISHED_MACS.get(_name),
                      description=f"torchvision {_function} (ImageNet, untrained)")


@register_model("resnext101_32x4d", image_size=224, paper=XIE_2017, published_params="44.2M", published_macs="8.0G",
                description="ResNeXt-101 (32x4d), torchvision's ResNet class with 32 groups of width 4 (ImageNet)")
def resnext101_32x4d(*, num_classes: int, in_channels: int = 3) -> nn.Module:
    """ResNeXt-101 32x4d (Xie et al. 2017, Table 5): torchvision defines the 8d and 64x4d versions only, so its
    ResNet class is given the paper's cardinality and width."""
    model = tv_models.ResNet(tv_models.resnet.Bottleneck, [3, 4, 23, 3], groups=32, width_per_group=4,
                             num_classes=num_classes)
    return replace_first_conv(model, in_channels)
