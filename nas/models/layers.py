"""The modules cell operations are made of. Each keeps its channel count and halves height and width at stride 2,
so any op can sit on any edge of a cell. The registry that names them is `nas.models.ops`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nas.models.strided_pointwise import StridedPointwiseConv, conv2d


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution, BatchNorm: the NASNet/DARTS order, so every op starts from a rectified input."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int | None = None,
                 dilation: int = 1, groups: int = 1, affine: bool = True):
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            nn.ReLU(inplace=False),
            conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups,
                   bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU, depthwise (possibly dilated) k x k convolution, pointwise 1x1, BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, dilation: int = 1, affine: bool = True):
        padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """A depthwise-separable convolution applied twice (NASNet's `separable_kxk_2`); only the first one strides."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, affine: bool = True):
        super().__init__(
            DilConv(c_in, c_in, kernel_size, stride, affine=affine),
            DilConv(c_in, c_out, kernel_size, 1, affine=affine),
        )


class FactorizedConv(nn.Sequential):
    """ReLU, 1 x k then k x 1 convolution, BatchNorm: a k x k receptive field with 2k instead of k^2 weights."""

    def __init__(self, channels: int, kernel_size: int, stride: int, affine: bool = True):
        half = kernel_size // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, (1, kernel_size), stride=(1, stride), padding=(0, half), bias=False),
            nn.Conv2d(channels, channels, (kernel_size, 1), stride=(stride, 1), padding=(half, 0), bias=False),
            nn.BatchNorm2d(channels, affine=affine),
        )


class FactorizedReduce(nn.Module):
    """Halve height and width without losing half the pixels: two stride-2 1x1 convs, the second on the input shifted
    by one pixel, concatenated (each gives half the output channels)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        # Strided 1x1 convs crash oneDNN in channels_last at few channels (strided_pointwise.py)
        self.conv_1 = StridedPointwiseConv(c_in, max(c_out // 2, 1), stride=2)
        # One output channel cannot be split in two: the unshifted half alone (a 0-channel conv cannot run)
        self.conv_2 = StridedPointwiseConv(c_in, c_out - c_out // 2, stride=2) if c_out > 1 else None
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if self.conv_2 is None:
            return self.bn(self.conv_1(x))
        # Pad right/bottom before shifting (as TF-slim/Keras do) so both halves agree on odd sizes, e.g. 111 -> 56.
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Zero(nn.Module):
    """The `none` op: zeros of the output shape (the edge is absent)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class Pool(nn.Module):
    """k x k max or average pooling with 'same' padding; average pooling ignores the padding (NASNet/DARTS)."""

    def __init__(self, kind: str, kernel_size: int, stride: int):
        super().__init__()
        padding = kernel_size // 2
        if kind == "max":
            self.pool = nn.MaxPool2d(kernel_size, stride=stride, padding=padding)
        else:
            self.pool = nn.AvgPool2d(kernel_size, stride=stride, padding=padding, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: interleave the groups so the next group conv sees every group's outputs."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnit(nn.Sequential):
    """ShuffleNet unit (Zhang et al. 2018) without its shortcut (the cell and the ShuffleNet baseline add it
    themselves): pointwise group conv to `bottleneck` channels, channel shuffle, depthwise 3x3 (strided), pointwise
    group conv to `c_out`. As the `shuffle_conv_3x3` op it keeps C channels throughout and starts with a ReLU (the
    op order of the cells); the network's units start from the previous unit's rectified output instead, and
    the first one's first conv is not grouped (`first_groups=1`, its input is narrow)."""

    def __init__(self, channels: int, stride: int, groups: int, affine: bool = True, *, bottleneck: int | None = None,
                 c_out: int | None = None, first_groups: int | None = None, leading_relu: bool = True):
        bottleneck, c_out = bottleneck or channels, c_out or channels
        super().__init__(
            *([nn.ReLU(inplace=False)] if leading_relu else []),
            nn.Conv2d(channels, bottleneck, 1, groups=first_groups or groups, bias=False),
            nn.BatchNorm2d(bottleneck, affine=affine),
            nn.ReLU(inplace=False),
            ChannelShuffle(groups),
            nn.Conv2d(bottleneck, bottleneck, 3, stride=stride, padding=1, groups=bottleneck, bias=False),
            nn.BatchNorm2d(bottleneck, affine=affine),
            nn.Conv2d(bottleneck, c_out, 1, groups=groups, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of a branch with probability drop_prob, rescaling the kept ones (FractalNet/NASNet)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep
