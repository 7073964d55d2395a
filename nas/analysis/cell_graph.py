"""A cell as the graph its diagrams draw: node names as `nas show` prints them, op edges, the concatenated output.

Every renderer (graphviz, matplotlib) and the text of `nas show` name nodes through `node_name`, so a picture and
the text beside it always agree: inputs c_{k-2} and c_{k-1}, blocks 2, 3, ..., the cell output c_{k}.
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.space.genotype import NUM_CELL_INPUTS, Cell

INPUT_NAMES = ("c_{k-2}", "c_{k-1}")
OUTPUT_NAME = "c_{k}"
# Op families and their colours (edges and their labels, so a label reads as part of its edge: dark enough for
# text on white); the first matching prefix wins.
OP_COLOURS = (
    ("skip_connect", "#666666"),
    ("none", "#aaaaaa"),
    ("sep_conv", "#1f5fa8"),
    ("dil_conv", "#0f8b8d"),
    ("max_pool", "#1b7a1b"),
    ("avg_pool", "#6a9f2a"),
    ("se_block", "#7b3fa0"),
    ("sk_conv", "#7b3fa0"),
    ("", "#c2570c"),  # other convolutions and user ops
)


def op_colour(op: str) -> str:
    return next(colour for prefix, colour in OP_COLOURS if op.startswith(prefix))


def node_name(node: int) -> str:
    """c_{k-2}, c_{k-1} for the cell's inputs; the node's index (2, 3, ...) for a block's output."""
    return INPUT_NAMES[node] if node < NUM_CELL_INPUTS else str(node)


@dataclass(frozen=True)
class OpEdge:
    source: int
    target: int
    op: str
    branch: int  # 0 for a block's first input, 1 for its second


@dataclass(frozen=True)
class CellGraph:
    """Nodes 0..n-1 (two inputs, then one per block), the op edges into each block, the nodes concatenated into
    the output, and each node's layer (inputs 0; a block one more than the later of its inputs)."""

    cell: Cell
    edges: tuple[OpEdge, ...]
    outputs: tuple[int, ...]
    layers: tuple[int, ...]

    @classmethod
    def of(cls, cell: Cell) -> "CellGraph":
        edges, layers = [], [0] * NUM_CELL_INPUTS
        for index, block in enumerate(cell.blocks):
            target = NUM_CELL_INPUTS + index
            for branch, (op, source) in enumerate(block.branches()):
                edges.append(OpEdge(source, target, op, branch))
            layers.append(1 + max(layers[block.input_a], layers[block.input_b]))
        return cls(cell, tuple(edges), tuple(cell.output_nodes()), tuple(layers))

    @property
    def nodes(self) -> range:
        return range(self.cell.num_nodes)

    def combine(self, node: int) -> str | None:
        """'add' or 'concat' for a block's node; None for an input."""
        return None if node < NUM_CELL_INPUTS else self.cell.blocks[node - NUM_CELL_INPUTS].combine
