"""A 1x1 convolution with stride s, computed as a stride-1 1x1 convolution of every s-th pixel: the same numbers,
without oneDNN's strided 1x1 weight-gradient kernel, which corrupts the heap (SIGSEGV, "double free") on AVX-512
CPUs in channels_last with 2-12 input channels at 48 px and more (torch 2.14.1 with oneDNN 3.12.0; see
../shared/reference/known-upstream-bugs.md). The module is still an nn.Conv2d with stride s, so its parameters,
state_dict keys, FLOP count and repr are those of the plain convolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class StridedPointwiseConv(nn.Conv2d):
    def __init__(self, c_in: int, c_out: int, stride: int, groups: int = 1, bias: bool = False):
        super().__init__(c_in, c_out, 1, stride=stride, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":  # the bug is oneDNN's (CPU); on a GPU the strided kernel is fine and copies less
            return super().forward(x)
        step_h, step_w = self.stride
        return F.conv2d(x[:, :, ::step_h, ::step_w], self.weight, self.bias, groups=self.groups)


def conv2d(c_in: int, c_out: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
           bias: bool = True) -> nn.Conv2d:
    """nn.Conv2d, except that an unpadded strided 1x1 convolution is a StridedPointwiseConv."""
    if _pair(kernel_size) == (1, 1) and _pair(stride) != (1, 1) and _pair(padding) == (0, 0):
        return StridedPointwiseConv(c_in, c_out, stride, groups=groups, bias=bias)
    return nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups,
                     bias=bias)


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)
