"""The NAS-Bench-201 networks (Dong & Yang, ICLR 2020), built exactly as the benchmark trained them.

The macro skeleton: a 3x3 conv stem to C=16 channels, three stages of N=5 cells at C, 2C and 4C channels joined by
residual reduction blocks (ResNet basic blocks of stride 2 with an average-pool + 1x1-conv shortcut), batch norm and
ReLU, global pooling and a linear classifier. A cell has 4 nodes; node j sums one op applied to each earlier node i.
Every conv is ReLU -> conv (no bias) -> batch norm, as in the benchmark's code, so parameter counts match its table
(every one of its 15,625 rows: benchmarks/nasbench201_counts.py), and `benchmark_flops` counts multiply-adds as its
`flops_M` columns do.

The engine's depth (`cells`) counts reduction blocks as it counts reduction cells: the benchmark's network has 3N+2
of them, 17 for its N=5.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nas.errors import ConfigError
from nas.models.profile import run_once
from nas.space.nasbench201 import EDGES, NUM_NODES, NasBench201Space

DEFAULT_CHANNELS = 16
DEFAULT_CELLS_PER_STAGE = 5
STAGES = 3
DEFAULT_CELLS = STAGES * DEFAULT_CELLS_PER_STAGE + STAGES - 1  # 17: the cells and the 2 reduction blocks between


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
                         nn.BatchNorm2d(c_out))


class Zero(nn.Module):
    """`none`: the edge carries nothing. Kept as a module so the cell's edges line up with the arch string."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def nasbench201_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


class NasBench201Cell(nn.Module):
    """Node 0 is the cell's input; node j = sum over i < j of op(i -> j)(node i); the output is node 3."""

    def __init__(self, ops: tuple[str, ...], channels: int):
        super().__init__()
        self.ops = tuple(ops)
        self.edges = nn.ModuleList(nasbench201_op(op, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        edge = iter(zip(EDGES, self.edges))
        for _node in range(1, NUM_NODES):
            total = None
            for (_, source), op in (next(edge) for _ in range(_node)):
                value = op(nodes[source])
                total = value if total is None else total + value
            nodes.append(total)
        return nodes[-1]


class ResidualReduction(nn.Module):
    """The benchmark's reduction block: a stride-2 ResNet basic block with an avg-pool + 1x1-conv shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NasBench201Network(nn.Module):
    def __init__(self, arch: str, channels: int = DEFAULT_CHANNELS, cells_per_stage: int = DEFAULT_CELLS_PER_STAGE,
                 num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.channels, self.depth = channels, STAGES * cells_per_stage + STAGES - 1  # as `nas profile` reports them
        space = NasBench201Space()
        ops = tuple(space.ops[choice] for choice in space.encode(arch))
        self.arch = space.decode(space.encode(arch))
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        layers: list[nn.Module] = []
        c_prev = channels
        for stage in range(STAGES):
            c_curr = channels * 2 ** stage
            if stage > 0:
                layers.append(ResidualReduction(c_prev, c_curr))
            layers.extend(NasBench201Cell(ops, c_curr) for _ in range(cells_per_stage))
            c_prev = c_curr
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(out).flatten(1))


def cells_per_stage(cells: int | None) -> int:
    """N for a depth of `cells` (the engine's count, reduction blocks included: 3N+2); the benchmark's 5 for None."""
    if cells is None:
        return DEFAULT_CELLS_PER_STAGE
    extra = STAGES - 1  # the reduction blocks
    smallest = STAGES + extra
    if cells < smallest or (cells - extra) % STAGES:
        below = smallest + (cells - smallest) // STAGES * STAGES if cells > smallest else None
        nearest = f"{below} or {below + STAGES}" if below else str(smallest)
        raise ConfigError(f"a NAS-Bench-201 network has 3N+2 cells (N per stage and the 2 reduction blocks; the "
                          f"benchmark's {DEFAULT_CELLS} have N={DEFAULT_CELLS_PER_STAGE}), got {cells}: try {nearest}")
    return (cells - extra) // STAGES


def check_nasbench201_network(arch: str, *, stack: str | None = None, channels: int | None = None,
                              cells: int | None = None) -> str:
    """The benchmark's own spelling of `arch`, once the request makes sense: ConfigError in one line for a malformed
    string, a stack named for it (the benchmark's network has its own skeleton) or sizes it cannot have."""
    arch = NasBench201Space().decode(NasBench201Space().encode(arch))
    if stack is not None:
        raise ConfigError(f"stack {stack!r} stacks NASNet-style cells; a NAS-Bench-201 string builds the benchmark's "
                          f"own network: leave the stack out")
    if channels is not None and channels < 1:
        raise ConfigError(f"channels must be positive, got {channels}")
    cells_per_stage(cells)
    return arch


def build_nasbench201_network(arch: str, *, channels: int | None = None, cells: int | None = None,
                              num_classes: int = 10, in_channels: int = 3) -> NasBench201Network:
    """The benchmark's network for `arch` (C=16, 17 cells) unless `channels` or `cells` say otherwise."""
    check_nasbench201_network(arch, channels=channels, cells=cells)
    return NasBench201Network(arch, channels=DEFAULT_CHANNELS if channels is None else channels,
                              cells_per_stage=cells_per_stage(cells), num_classes=num_classes,
                              in_channels=in_channels)


def benchmark_flops(model: nn.Module, input_shape) -> int:
    """Multiply-adds per input as NAS-Bench-201 counts them in its `flops_M` columns, with forward hooks as its own
    counter does (xautodl's flop_benchmark): each convolution's and linear layer's multiply-adds plus one add per
    output of a layer with a bias; pooling, batch norm and the sums of a cell's edges are not counted. The model
    runs once (nas.models.profile.run_once) on an input of `input_shape`, (C, H, W) or (N, C, H, W)."""
    counts: list[int] = []

    def count(module: nn.Module, inputs, output: torch.Tensor) -> None:
        fan_in = (module.in_features if isinstance(module, nn.Linear)
                  else module.in_channels // module.groups * math.prod(module.kernel_size))
        counts.append(output[0].numel() * (fan_in + (module.bias is not None)))  # one input's outputs

    hooks = [module.register_forward_hook(count) for module in model.modules()
             if isinstance(module, (nn.Conv2d, nn.Linear))]
    try:
        run_once(model, input_shape)
    finally:
        for hook in hooks:
            hook.remove()
    return sum(counts)
