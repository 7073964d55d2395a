"""Hand-designed baselines in the model registry: the CIFAR networks of the papers NAS compares against (ResNet,
pre-activation ResNet, DenseNet, and SE/SK ResNets built from the same attention modules as the `se_block` and
`sk_conv` ops), and torchvision's ImageNet definitions, used as they are."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision.models as tv_models
from torch import nn

from nas.models.attention import SelectiveKernel, SqueezeExcite
from nas.models.registry import register_model


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


# --- CIFAR ResNet (He et al. 2016, Section 4.2) -----------------------------------------------------------------


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: subsample and pad the new channels with zeros, so shortcuts add no parameters (this is how
    the paper's ResNet-56 has 0.85M)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride = stride
        extra = c_out - c_in
        self.pad = (extra // 2, extra - extra // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, *self.pad))


class BasicBlock(nn.Module):
    """Two 3x3 convs and a shortcut. `attention='se'` recalibrates the residual before the addition (SE-ResNet);
    `attention='sk'` makes the first conv a selective kernel conv (SKNet)."""

    def __init__(self, c_in: int, c_out: int, stride: int, attention: str | None = None):
        super().__init__()
        if attention == "sk":
            self.conv1 = SelectiveKernel(c_in, c_out, stride)  # ends in BN + ReLU like the plain path
        else:
            self.conv1 = nn.Sequential(conv3x3(c_in, c_out, stride), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv3x3(c_out, c_out), nn.BatchNorm2d(c_out))
        self.attention = SqueezeExcite(c_out) if attention == "se" else nn.Identity()
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = ZeroPadShortcut(c_in, c_out, stride) if needs_projection else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.attention(self.conv2(self.conv1(x)))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32 px images: 16, 32, 64 filters, n blocks per stage."""

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3, attention: str | None = None):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        blocks_per_stage = (depth - 2) // 6
        self.stem = nn.Sequential(conv3x3(in_channels, 16), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
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


def _register_cifar_resnets(prefix: str, attention: str | None, what: str) -> None:
    for depth in (20, 32, 44, 56, 110):
        def build(*, num_classes: int, in_channels: int = 3, depth=depth):
            return CifarResNet(depth, num_classes, in_channels, attention)

        register_model(f"{prefix}resnet{depth}", image_size=32,
                       description=f"CIFAR {what}ResNet-{depth} (He et al. 2016, option A shortcuts)")(build)


_register_cifar_resnets("", None, "")
_register_cifar_resnets("se_", "se", "SE-")
_register_cifar_resnets("sk_", "sk", "SK-")


# --- Pre-activation ResNet-164 (He et al. 2016b) -----------------------------------------------------------------


class PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        c_out = width * self.expansion
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        # The projection reads the pre-activated input, as in the authors' code.
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """Pre-activation bottleneck ResNet-(9n+2) for 32 px images."""

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 2) % 9:
            raise ValueError(f"pre-activation bottleneck ResNet depth must be 9n+2, got {depth}")
        blocks_per_stage = (depth - 2) // 9
        self.stem = conv3x3(in_channels, 16)
        layers, c_in = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for index in range(blocks_per_stage):
                layers.append(PreActBottleneck(c_in, width, 2 if stage > 0 and index == 0 else 1))
                c_in = width * PreActBottleneck.expansion
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.layers(self.stem(x))).flatten(1))


@register_model("preact_resnet164", image_size=32,
                description="CIFAR pre-activation ResNet-164, bottleneck blocks (He et al. 2016b)")
def preact_resnet164(*, num_classes: int, in_channels: int = 3) -> PreActResNet:
    return PreActResNet(164, num_classes, in_channels)


# --- DenseNet (Huang et al. 2017) ---------------------------------------------------------------------------------


class DenseLayer(nn.Module):
    """BN-ReLU-conv3x3 producing `growth` channels (BC: a BN-ReLU-conv1x1 to 4*growth first), concatenated on."""

    def __init__(self, c_in: int, growth: int, bottleneck: bool):
        super().__init__()
        layers: list[nn.Module] = []
        if bottleneck:
            layers += [nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), nn.Conv2d(c_in, 4 * growth, 1, bias=False)]
            c_in = 4 * growth
        layers += [nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), conv3x3(c_in, growth)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class CifarDenseNet(nn.Module):
    """DenseNet-L with growth rate k for 32 px images: three dense blocks joined by BN-ReLU-conv1x1-avgpool
    transitions (DenseNet-BC: bottleneck layers and transitions that halve the channels)."""

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
                features += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.Conv2d(channels, out, 1, bias=False),
                             nn.AvgPool2d(2)]
                channels = out
        features += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1)]
        self.features = nn.Sequential(*features)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


@register_model("densenet40", image_size=32, description="CIFAR DenseNet (L=40, k=12)")
def densenet40(*, num_classes: int, in_channels: int = 3) -> CifarDenseNet:
    return CifarDenseNet(40, 12, bc=False, num_classes=num_classes, in_channels=in_channels)


@register_model("densenet_bc100", image_size=32, description="CIFAR DenseNet-BC (L=100, k=12)")
def densenet_bc100(*, num_classes: int, in_channels: int = 3) -> CifarDenseNet:
    return CifarDenseNet(100, 12, bc=True, num_classes=num_classes, in_channels=in_channels)


# --- ImageNet: torchvision's definitions ------------------------------------------------------------------------


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


TORCHVISION_BASELINES = {
    "resnet18": "resnet18",
    "resnet34": "resnet34",
    "resnet50": "resnet50",
    "resnet101": "resnet101",
    "densenet121": "densenet121",
    "densenet169": "densenet169",
    "resnext50_32x4d": "resnext50_32x4d",
    "shufflenet_v2": "shufflenet_v2_x1_0",
    "vgg16": "vgg16",
}

for _name, _function in TORCHVISION_BASELINES.items():
    def _build(*, num_classes: int, in_channels: int = 3, function=_function):
        model = getattr(tv_models, function)(weights=None, num_classes=num_classes)
        return replace_first_conv(model, in_channels)

    register_model(_name, image_size=224, description=f"torchvision {_function} (ImageNet, untrained)")(_build)
