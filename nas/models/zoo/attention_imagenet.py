"""SE-ResNet-50, SE-ResNeXt-50 (Hu et al. 2018) and SKNet-50 (Li et al. 2019) on ImageNet: torchvision's ResNet-50
and ResNeXt-50 (32x4d) with the attention modules the `se_block` and `sk_conv` ops use put into every bottleneck,
so nothing of the networks is rewritten."""

from __future__ import annotations

from functools import partial

import torchvision.models as tv_models
from torch import nn

from nas.models.attention import SelectiveKernel, SqueezeExcite
from nas.models.registry import register_baseline
from nas.models.zoo.papers import HU_2018, LI_2019
from nas.models.zoo.torchvision_nets import replace_first_conv


def bottlenecks(model: nn.Module):
    return [module for module in model.modules() if isinstance(module, tv_models.resnet.Bottleneck)]


def add_squeeze_excite(model: nn.Module) -> nn.Module:
    """SE recalibrates each bottleneck's residual after its last BN, before the addition (the paper's Fig. 3)."""
    for block in bottlenecks(model):
        block.bn3 = nn.Sequential(block.bn3, SqueezeExcite(block.bn3.num_features))
    return model


def add_selective_kernels(model: nn.Module, groups: int) -> nn.Module:
    """Each bottleneck's grouped 3x3 conv becomes a selective kernel conv over as many groups (M=2, r=16, L=32,
    the paper's SKNet-50); its branches end in BN + ReLU, so the block's BN after it goes."""
    for block in bottlenecks(model):
        conv = block.conv2
        block.conv2 = SelectiveKernel(conv.in_channels, conv.out_channels, conv.stride[0], groups=groups)
        block.bn2 = nn.Identity()  # the block's ReLU after it is then a no-op on the non-negative fused output
    return model


# name: (torchvision function, how to change it, paper, parameters and multiply-adds as printed; SE-ResNet-50's
# 3.87G is not checked: torchvision's ResNet-50 costs 4.1G, not the paper's 3.86G, see torchvision_nets.py)
ATTENTION_NETWORKS = {
    "se_resnet50": ("resnet50", add_squeeze_excite, HU_2018, "28.1M", None),  # Table 2
    "se_resnext50_32x4d": ("resnext50_32x4d", add_squeeze_excite, HU_2018, "27.5M", "4.25G"),
    "sknet50": ("resnext50_32x4d", lambda model: add_selective_kernels(model, 32), LI_2019, "27.5M",
                "4.47G"),  # Table 2
}


def with_attention(function: str, change, num_classes: int, in_channels: int) -> nn.Module:
    model = getattr(tv_models, function)(weights=None, num_classes=num_classes)
    return replace_first_conv(change(model), in_channels)


for _name, (_function, _change, _paper, _published, _macs) in ATTENTION_NETWORKS.items():
    register_baseline(_name, partial(with_attention, _function, _change), image_size=224, paper=_paper,
                      published_params=_published, published_macs=_macs,
                      description=f"torchvision {_function} with {_name[:2].upper()} attention (ImageNet)")
