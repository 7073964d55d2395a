"""The five residual units of He et al. 2016b (Identity Mappings in Deep Residual Networks, Fig. 4), selectable for
CIFAR ResNet-110 (basic units) and ResNet-164 (bottleneck units), so the paper's Table 2 can be rerun; the full
pre-activation unit also makes pre-activation ResNet-164 and ResNet-1001 (Table 3/4) and Wide ResNet-28-10.

Each variant is data: where BN and ReLU sit around the convolutions of the residual branch, and what follows the
addition. The module order of a unit is therefore exactly the paper's figure.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from nas.models.attention import SqueezeExcite
from nas.models.registry import register_baseline, register_model
from nas.models.strided_pointwise import conv2d
from nas.models.zoo.blocks import ZeroPadShortcut, conv3x3
from nas.models.zoo.papers import HE_2016B, HU_2018, ZAGORUYKO_2016

# variant: (layers around every conv but the last, around the last conv, after the addition)
UNITS = {
    "original": ("conv bn relu", "conv bn", "relu"),  # (a)
    "bn_after_add": ("conv bn relu", "conv", "bn relu"),  # (b)
    "relu_before_add": ("conv bn relu", "conv bn relu", ""),  # (c)
    "relu_preact": ("relu conv bn", "relu conv bn", ""),  # (d) ReLU-only pre-activation
    "full_preact": ("bn relu conv", "bn relu conv", ""),  # (e) full pre-activation
}
# The stem ends where the first unit's layers begin, and pre-activation networks activate after the last addition.
STEMS = {"relu_preact": "conv bn", "full_preact": "conv"}
HEADS = {"relu_preact": "relu", "full_preact": "bn relu"}
POST_ACTIVATION_STEM = "conv bn relu"


def _layers(pattern: str, conv: nn.Conv2d | None, channels: int) -> list[nn.Module]:
    """Modules for a pattern such as "bn relu conv": a BN normalises the channels it sees at its place."""
    modules: list[nn.Module] = []
    for word in pattern.split():
        if word == "conv":
            modules.append(conv)
            channels = conv.out_channels
        elif word == "bn":
            modules.append(nn.BatchNorm2d(channels))
        else:  # not in place: a unit's first ReLU would otherwise overwrite the shortcut's input
            modules.append(nn.ReLU())
    return modules


def _unit_convs(c_in: int, width: int, stride: int, bottleneck: bool) -> list[nn.Conv2d]:
    if bottleneck:  # 1x1 reduce, 3x3 (strided), 1x1 expand to 4x
        return [nn.Conv2d(c_in, width, 1, bias=False),
                conv3x3(width, width, stride),
                nn.Conv2d(width, 4 * width, 1, bias=False)]
    return [conv3x3(c_in, width, stride), conv3x3(width, width)]


class ResidualUnit(nn.Module):
    """One residual unit of `variant` (see UNITS). Where the shape changes, the shortcut zero-pads (option A, as
    ResNet-110) or projects with a 1x1 conv (bottlenecks, Wide ResNets); in full pre-activation the projection reads
    the pre-activated input (the authors' code)."""

    def __init__(self, variant: str, c_in: int, width: int, stride: int, bottleneck: bool, projection: bool,
                 squeeze_excite: bool = False):
        super().__init__()
        middle, last, after = UNITS[variant]
        convs = _unit_convs(c_in, width, stride, bottleneck)
        c_out = convs[-1].out_channels
        layers = [module for conv in convs[:-1] for module in _layers(middle, conv, conv.in_channels)]
        layers += _layers(last, convs[-1], convs[-1].in_channels)
        split = 2 if variant == "full_preact" else 0  # the leading BN-ReLU, shared with a projection
        self.preact = nn.Sequential(*layers[:split])
        self.branch = nn.Sequential(*layers[split:])
        # SE-ResNet (Hu et al. 2018): the residual is recalibrated before the addition
        self.attention = SqueezeExcite(c_out) if squeeze_excite else nn.Identity()
        self.after = nn.Sequential(*_layers(after, None, c_out))
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = (conv2d(c_in, c_out, 1, stride=stride, bias=False) if projection
                             else ZeroPadShortcut(c_in, c_out, stride))
        self.project_preactivated = variant == "full_preact" and isinstance(self.shortcut, nn.Conv2d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.preact(x)
        shortcut = self.shortcut(pre if self.project_preactivated else x)
        return self.after(self.attention(self.branch(pre)) + shortcut)


class VariantResNet(nn.Module):
    """CIFAR ResNet of He et al. 2016b: a 16-filter 3x3 stem, three stages of `widths` (x4 for bottlenecks)
    filters, each with `units` units of `variant`."""

    def __init__(self, units: int, variant: str, bottleneck: bool, num_classes: int = 10, in_channels: int = 3,
                 widths: tuple[int, ...] = (16, 32, 64), projection: bool | None = None,
                 squeeze_excite: bool = False):
        super().__init__()
        projection = bottleneck if projection is None else projection
        stem = conv3x3(in_channels, 16)
        self.stem = nn.Sequential(*_layers(STEMS.get(variant, POST_ACTIVATION_STEM), stem, in_channels))
        layers, c_in = [], 16
        for stage, width in enumerate(widths):
            for index in range(units):
                stride = 2 if stage and not index else 1
                layers.append(ResidualUnit(variant, c_in, width, stride, bottleneck, projection, squeeze_excite))
                c_in = 4 * width if bottleneck else width
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(*_layers(HEADS.get(variant, ""), None, c_in), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.layers(self.stem(x))).flatten(1))


def units_per_stage(depth: int, bottleneck: bool) -> int:
    """n of a depth-(6n+2) basic or (9n+2) bottleneck ResNet."""
    layers_per_stage = 3 * (3 if bottleneck else 2)
    if (depth - 2) % layers_per_stage:
        raise ValueError(f"depth must be {layers_per_stage}n+2 for these units, got {depth}")
    return (depth - 2) // layers_per_stage


def _register(name: str, depth: int, variant: str, bottleneck: bool, published: str) -> None:
    kind = "bottleneck" if bottleneck else "basic"
    register_baseline(name, partial(VariantResNet, units_per_stage(depth, bottleneck), variant, bottleneck),
                      image_size=32, paper=HE_2016B, published_params=published,
                      description=f"CIFAR ResNet-{depth}, {kind} units: {variant.replace('_', ' ')}")


for _variant in UNITS:
    _register(f"resnet110_{_variant}", 110, _variant, False, "1.7M")
    _register(f"resnet164_{_variant}", 164, _variant, True, "1.7M")
_register("preact_resnet164", 164, "full_preact", True, "1.7M")
_register("preact_resnet1001", 1001, "full_preact", True, "10.2M")


@register_model("se_resnet164", image_size=32, paper=HU_2018,
                description="CIFAR SE-ResNet-164: pre-activation bottleneck units with squeeze-and-excitation")
def se_resnet164(*, num_classes: int, in_channels: int = 3) -> VariantResNet:
    """SE-ResNet-164 (Hu et al. 2018, Table 4, CIFAR): pre-activation ResNet-164 with the `se_block` op's module
    on each residual; the paper gives no CIFAR parameter counts."""
    return VariantResNet(units_per_stage(164, True), "full_preact", True, num_classes, in_channels,
                         squeeze_excite=True)


@register_model("wide_resnet28_10", image_size=32, paper=ZAGORUYKO_2016, published_params="36.5M",
                description="CIFAR Wide ResNet-28-10: full pre-activation basic units, 10x wider")
def wide_resnet28_10(*, num_classes: int, in_channels: int = 3) -> VariantResNet:
    """WRN-28-10 (Zagoruyko & Komodakis 2016, Table 1 and 4): WRN-d-k has (d-4)/6 pre-activation basic units per
    stage of 16k, 32k, 64k filters, 1x1 projections where the shape changes (they count in d); no dropout."""
    depth, widen = 28, 10
    return VariantResNet((depth - 4) // 6, "full_preact", False, num_classes, in_channels,
                         widths=(16 * widen, 32 * widen, 64 * widen), projection=True)
