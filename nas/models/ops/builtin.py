"""The built-in ops: the DARTS/NASNet vocabulary and the grouped, shuffled and attention ops.

Imported with the `nas.models.ops` package, so they are registered before any other op module of the package.
"""

from __future__ import annotations

from torch import nn

from nas.errors import GenotypeError
from nas.models.attention import SelectiveKernel, SqueezeExcite
from nas.models.layers import (
    DilConv,
    FactorizedConv,
    FactorizedReduce,
    Pool,
    ReLUConvBN,
    SepConv,
    ShuffleUnit,
    Zero,
)
from nas.models.ops.registration import register_op
from nas.space.op_registry import OpBuilder


# --- built-in ops: DARTS/NASNet vocabulary ------------------------------------------------------------------------


@register_op("none", description="zero: the edge is absent (spatially halved at stride 2)")
def _none(C, stride, affine):
    return Zero(stride)


@register_op("skip_connect", aliases=("identity",),
             description="identity; factorized reduction (two offset 1x1 convs) at stride 2")
def _skip_connect(C, stride, affine):
    return nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine)


@register_op("conv_1x1", description="ReLU-conv 1x1-BN")
def _conv_1x1(C, stride, affine):
    return ReLUConvBN(C, C, 1, stride, affine=affine)


@register_op("conv_3x3", description="ReLU-conv 3x3-BN")
def _conv_3x3(C, stride, affine):
    return ReLUConvBN(C, C, 3, stride, affine=affine)


@register_op("conv_1x3_3x1", description="ReLU, 1x3 then 3x1 conv, BN")
def _conv_1x3_3x1(C, stride, affine):
    return FactorizedConv(C, 3, stride, affine=affine)


@register_op("conv_1x7_7x1", aliases=("conv_7x1_1x7",), description="ReLU, 1x7 then 7x1 conv, BN")
def _conv_1x7_7x1(C, stride, affine):
    return FactorizedConv(C, 7, stride, affine=affine)


def _sep_conv(kernel_size: int) -> OpBuilder:
    def build(C, stride, affine):
        return SepConv(C, C, kernel_size, stride, affine=affine)

    return build


for _k in (3, 5, 7):
    register_op(f"sep_conv_{_k}x{_k}", _sep_conv(_k),
                description=f"depthwise-separable {_k}x{_k} conv applied twice (ReLU-dw-pw-BN x2)")


def _dil_conv(kernel_size: int) -> OpBuilder:
    def build(C, stride, affine):
        return DilConv(C, C, kernel_size, stride, dilation=2, affine=affine)

    return build


for _k in (3, 5):
    register_op(f"dil_conv_{_k}x{_k}", _dil_conv(_k),
                description=f"dilated (rate 2) depthwise-separable {_k}x{_k} conv, ReLU-dw-pw-BN")


def _pool(kind: str, kernel_size: int) -> OpBuilder:
    def build(C, stride, affine):
        return Pool(kind, kernel_size, stride)

    return build


for _k in (3, 5, 7):
    register_op(f"max_pool_{_k}x{_k}", _pool("max", _k), description=f"{_k}x{_k} max pooling")
register_op("avg_pool_3x3", _pool("avg", 3), description="3x3 average pooling (padding not counted)")

GROUP_WIDTH = 4  # channels per group of group_conv_3x3, as in ResNeXt's 32x4d


@register_op("group_conv_3x3",
             description=f"ReLU-grouped conv 3x3-BN (ResNeXt), groups of {GROUP_WIDTH} channels; C must divide")
def _group_conv_3x3(C, stride, affine):
    if C % GROUP_WIDTH:
        raise GenotypeError(
            f"op 'group_conv_3x3' splits C into groups of {GROUP_WIDTH} channels, but C={C} is not a multiple of "
            f"{GROUP_WIDTH} ({C // GROUP_WIDTH} groups would leave {C % GROUP_WIDTH} channels over)"
        )
    return ReLUConvBN(C, C, 3, stride, groups=C // GROUP_WIDTH, affine=affine)


def shuffle_groups(channels: int) -> int:
    """ShuffleNet's group count for `channels`: the largest of 4, 3, 2, 1 that divides it, so any C builds."""
    return next(groups for groups in (4, 3, 2, 1) if channels % groups == 0)


@register_op("shuffle_conv_3x3",
             description="ShuffleNet unit: pointwise group conv, channel shuffle, depthwise 3x3, pointwise group conv")
def _shuffle_conv_3x3(C, stride, affine):
    return ShuffleUnit(C, stride, shuffle_groups(C), affine=affine)


@register_op("se_block",
             description="squeeze-and-excitation channel recalibration (factorized reduction first at stride 2)")
def _se_block(C, stride, affine):
    if stride == 1:
        return SqueezeExcite(C)
    return nn.Sequential(FactorizedReduce(C, C, affine=affine), SqueezeExcite(C))


@register_op("sk_conv", description="selective kernel conv (SKNet): 3x3 and dilated 3x3 fused by attention")
def _sk_conv(C, stride, affine):
    return SelectiveKernel(C, C, stride, affine=affine)
