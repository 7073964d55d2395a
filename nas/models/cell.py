"""A cell module compiled from a cell genotype (nas.space.genotype.Cell), as in NASNet and DARTS.

The two inputs (node 0: the cell two back, node 1: the previous cell) are first brought to C channels at a common
resolution; each block applies one op to each of its two nodes and adds them (or concatenates and projects back to
C); the cell's output concatenates the output nodes, so it has `multiplier * C` channels.
"""

from __future__ import annotations

import torch
from torch import nn

from nas.models.layers import FactorizedReduce, ReLUConvBN, drop_path
from nas.models.ops import build_op
from nas.space.genotype import NUM_CELL_INPUTS, Cell as CellGenotype


class ConcatProjection(nn.Sequential):
    """`concat` combine: both branches side by side, then a 1x1 conv and BN back to C channels."""

    def __init__(self, channels: int, affine: bool = True):
        super().__init__(nn.Conv2d(2 * channels, channels, 1, bias=False), nn.BatchNorm2d(channels, affine=affine))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(torch.cat([a, b], dim=1))


class CellModule(nn.Module):
    def __init__(self, genotype: CellGenotype, c_prev_prev: int, c_prev: int, channels: int, reduction: bool,
                 reduction_prev: bool, affine: bool = True):
        super().__init__()
        self.reduction = reduction
        # After a reduction cell, node 0 is twice the resolution of node 1.
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(c_prev_prev, channels, affine=affine)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, channels, 1, affine=affine)
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, affine=affine)

        self.block_inputs: list[tuple[int, int]] = []
        self.branches = nn.ModuleList()
        self.projections = nn.ModuleDict()  # block index -> projection, for `concat` blocks only
        for index, block in enumerate(genotype.blocks):
            pair = nn.ModuleList()
            for op_name, node in block.branches():
                # In a reduction cell, ops reading the cell inputs stride; block outputs are already reduced.
                stride = 2 if reduction and node < NUM_CELL_INPUTS else 1
                pair.append(build_op(op_name, channels, stride, affine))
            self.branches.append(pair)
            self.block_inputs.append((block.input_a, block.input_b))
            if block.combine == "concat":
                self.projections[str(index)] = ConcatProjection(channels, affine)

        self.output_nodes = tuple(genotype.output_nodes())
        # A cell input listed as an output has the input resolution; a reduction cell halves it (as TF-slim does).
        self.output_reducers = nn.ModuleDict(
            {str(node): FactorizedReduce(channels, channels, affine=affine)
             for node in self.output_nodes if reduction and node < NUM_CELL_INPUTS}
        )
        self.multiplier = len(self.output_nodes)
        self.out_channels = self.multiplier * channels

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        apply_drop = self.training and drop_prob > 0.0
        for index, ((node_a, node_b), (op_a, op_b)) in enumerate(zip(self.block_inputs, self.branches)):
            h_a, h_b = op_a(states[node_a]), op_b(states[node_b])
            if apply_drop:  # identity branches are never dropped (DARTS/NASNet)
                h_a = h_a if isinstance(op_a, nn.Identity) else drop_path(h_a, drop_prob)
                h_b = h_b if isinstance(op_b, nn.Identity) else drop_path(h_b, drop_prob)
            projection = self.projections[str(index)] if str(index) in self.projections else None
            states.append(projection(h_a, h_b) if projection is not None else h_a + h_b)
        outputs = []
        for node in self.output_nodes:
            key = str(node)
            outputs.append(self.output_reducers[key](states[node]) if key in self.output_reducers else states[node])
        return torch.cat(outputs, dim=1)
