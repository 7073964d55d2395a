"""Cell diagrams drawn with plain matplotlib, the fallback where graphviz's `dot` is missing.

Drawn as in the NASNet paper's figures: every op is a box of its own between the node it reads and the block it
feeds, so op names sit on a grid and never overlap (labels on crossing edges would). Columns: the inputs, then for
each layer of blocks a column of op boxes and a column of block nodes, then the output c_{k}. Sizes are in inches
(one data unit = one inch), so boxes fit their text in every format and edges end at the boxes' sides.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from nas.analysis.cell_graph import OUTPUT_NAME, CellGraph, node_name, op_colour
from nas.space.genotype import NUM_CELL_INPUTS, Genotype

OP_FONT, NODE_FONT = 8, 10  # points
CHAR_WIDTH = 0.62 / 72  # inches per point of font size, a little over DejaVu Sans' average glyph width
ROW, BLOCK_GAP, COLUMN_GAP = 0.34, 0.2, 0.45  # inches
NODE_SIZE = (0.62, 0.34)
INPUT_FILL, BLOCK_FILL, OUTPUT_FILL = "#c6dbef", "#fff7bc", "#fde0dd"


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    half_width: float
    half_height: float

    def contains(self, x: float, y: float, pad: float = 0.03) -> bool:
        return abs(x - self.x) <= self.half_width + pad and abs(y - self.y) <= self.half_height + pad



def _text_width(text: str, points: float) -> float:
    return len(text) * points * CHAR_WIDTH


def _node_text(graph: CellGraph, node: int) -> str:
    name = node_name(node)
    text = f"${name}$" if "_{" in name else name
    return text + ("\nconcat" if graph.combine(node) == "concat" else "")


@dataclass
class CellLayout:
    """Boxes of the nodes (by node index, 'out') and of the op edges (by edge index), and the drawing's width."""

    nodes: dict
    ops: dict
    width: float

    @classmethod
    def of(cls, graph: CellGraph) -> "CellLayout":
        op_width = max(_text_width(edge.op, OP_FONT) for edge in graph.edges) + 0.16
        depth = max(graph.layers)
        blocks_by_layer = {layer: [n for n in graph.nodes if graph.layers[n] == layer] for layer in range(1, depth + 1)}
        tallest = max(len(blocks) for blocks in blocks_by_layer.values())
        column_height = tallest * (2 * ROW + BLOCK_GAP)
        node_w, node_h = NODE_SIZE[0] / 2, NODE_SIZE[1] / 2
        x = node_w
        nodes = {0: Box(x, column_height / 4, node_w, node_h), 1: Box(x, -column_height / 4, node_w, node_h)}
        ops = {}
        for layer in range(1, depth + 1):
            op_x = x + node_w + COLUMN_GAP + op_width / 2
            x = op_x + op_width / 2 + COLUMN_GAP + node_w
            blocks = blocks_by_layer[layer]
            top = (len(blocks) * (2 * ROW + BLOCK_GAP) - BLOCK_GAP) / 2 - ROW / 2
            for rank, node in enumerate(blocks):
                # The branch from the higher source goes on top, so the two edges into a block do not cross.
                branches = sorted((e for e in range(len(graph.edges)) if graph.edges[e].target == node),
                                  key=lambda e: -nodes[graph.edges[e].source].y)
                ys = []
                for slot, edge in enumerate(branches):
                    y = top - rank * (2 * ROW + BLOCK_GAP) - slot * ROW
                    ops[edge] = Box(op_x, y, op_width / 2, 0.11)
                    ys.append(y)
                tall = 1.5 if graph.combine(node) == "concat" else 1.0  # room for the second line, "concat"
                nodes[node] = Box(x, sum(ys) / len(ys), node_w, node_h * tall)
        x += node_w + COLUMN_GAP * 1.5 + node_w
        nodes["out"] = Box(x, 0.0, node_w, node_h)
        return cls(nodes, ops, x + node_w)


def _box_patch(ax, box: Box, fill: str, edge: str, lw: float) -> None:
    ax.add_patch(FancyBboxPatch((box.x - box.half_width, box.y - box.half_height), 2 * box.half_width,
                                2 * box.half_height, boxstyle="round,pad=0,rounding_size=0.05", fc=fill, ec=edge,
                                lw=lw, zorder=3))


LANE_STEP = 0.09  # inches between parallel detours


def _crosses_a_box(a, b, boxes) -> bool:
    """Whether the segment a-b passes through any of `boxes` (sampled every ~2 hundredths of an inch)."""
    steps = max(2, int(((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 / 0.02))
    points = [(a[0] + (b[0] - a[0]) * t / steps, a[1] + (b[1] - a[1]) * t / steps) for t in range(1, steps)]
    return any(box.contains(x, y) for box in boxes for x, y in points)


class Router:
    """Connections drawn straight where nothing is in the way; otherwise, so that no line runs behind a box it does
    not belong to, detoured along a lane above (or below) the whole drawing, dropping down in the column gaps. A
    detour leaves towards the side where its column has no other box: c_{k-1}'s rising past c_{k-2} would cross
    c_{k-2}'s edges where they start, and read as one of them."""

    def __init__(self, boxes, top: float, bottom: float):
        self.boxes, self.top, self.bottom = boxes, top, bottom
        self.lanes = {"top": 0, "bottom": 0}

    def route(self, start: Box, end: Box, entry: float = 0.0) -> list[tuple[float, float]]:
        """Out of the right side of `start`, into the left side of `end` (everything flows left to right) at
        height `entry` (-1 bottom .. 1 top of the side), so arrows into one box do not pile up on one point."""
        a, b = (start.x + start.half_width, start.y), (end.x - end.half_width, end.y + entry * end.half_height)
        others = [box for box in self.boxes if box is not start and box is not end]
        if not _crosses_a_box(a, b, others):
            return [a, b]
        preferred = "top" if start.y + end.y >= 0 else "bottom"
        sides = (preferred, "bottom" if preferred == "top" else "top")
        side = next((side for side in sides if not self._passes_column_neighbour(start, side)), preferred)
        lane = self.lanes[side]
        y = self.top + 0.12 + lane * LANE_STEP if side == "top" else self.bottom - 0.12 - lane * LANE_STEP
        shift = 0.08 + (lane % 3) * 0.06  # parallel drops side by side in the column gap
        self.lanes[side] += 1
        return [a, (a[0] + shift, a[1]), (a[0] + shift, y), (b[0] - shift, y), (b[0] - shift, b[1]), b]

    def _passes_column_neighbour(self, start: Box, side: str) -> bool:
        """Whether a detour out of `start` towards `side` would rise (or drop) past another box of its column."""
        return any(abs(box.x - start.x) < 1e-6 and box is not start and (box.y > start.y) == (side == "top")
                   for box in self.boxes)

    @property
    def extent(self) -> tuple[float, float]:
        """The lowest and highest y any lane reached."""
        return (self.bottom - 0.12 - self.lanes["bottom"] * LANE_STEP, self.top + 0.12 + self.lanes["top"] * LANE_STEP)


def _arrow(ax, points, colour: str, dashed: bool = False) -> None:
    codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 1)
    ax.add_patch(FancyArrowPatch(path=MplPath(points, codes), arrowstyle="-|>", mutation_scale=9, color=colour,
                                 lw=1.0 if dashed else 1.3, linestyle="--" if dashed else "-", zorder=2))


@dataclass
class Connection:
    points: list
    colour: str
    dashed: bool = False


def route_cell(graph: CellGraph, layout: CellLayout) -> tuple[list[Connection], float, float]:
    """Every line of the drawing, and the lowest and highest y they reach."""
    wanted = []  # (start, end, colour, dashed)
    for index, edge in enumerate(graph.edges):
        colour, box = op_colour(edge.op), layout.ops[index]
        wanted += [(layout.nodes[edge.source], box, colour, False), (box, layout.nodes[edge.target], colour, False)]
    wanted += [(layout.nodes[node], layout.nodes["out"], "#555555", True) for node in graph.outputs]
    # Arrows into one box enter its side spread top to bottom, in the order of their sources (so they do not cross).
    entries = {}
    for end in {id(end): end for _, end, _, _ in wanted}.values():
        starts = sorted((start for start, e, _, _ in wanted if e is end), key=lambda box: -box.y)
        for rank, start in enumerate(starts):
            entries[id(start), id(end)] = 0.0 if len(starts) == 1 else 0.6 - 1.2 * rank / (len(starts) - 1)
    boxes = [*layout.nodes.values(), *layout.ops.values()]
    router = Router(boxes, top=max(b.y + b.half_height for b in boxes), bottom=min(b.y - b.half_height for b in boxes))
    connections = [Connection(router.route(start, end, entries[id(start), id(end)]), colour, dashed)
                   for start, end, colour, dashed in wanted]
    low, high = router.extent
    return connections, low - 0.05, high + 0.05


def draw_cell(ax, graph: CellGraph, layout: CellLayout, connections: list[Connection], title: str) -> None:
    for connection in connections:
        _arrow(ax, connection.points, connection.colour, connection.dashed)
    for index, edge in enumerate(graph.edges):
        colour, box = op_colour(edge.op), layout.ops[index]
        _box_patch(ax, box, "white", colour, 1.0)
        ax.text(box.x, box.y, edge.op, fontsize=OP_FONT, ha="center", va="center", color=colour, zorder=4)
    for node, box in layout.nodes.items():
        if node == "out":
            text, fill = f"${OUTPUT_NAME}$", OUTPUT_FILL
        else:
            text, fill = _node_text(graph, node), INPUT_FILL if node < NUM_CELL_INPUTS else BLOCK_FILL
        _box_patch(ax, box, fill, "black", 1.0)
        ax.text(box.x, box.y, text, fontsize=NODE_FONT, ha="center", va="center", zorder=4, linespacing=1.0)
    ax.set_title(title, fontsize=12)
    ax.axis("off")


def render_genotype_matplotlib(genotype: Genotype, fmt: str = "png", title: str | None = None) -> bytes:
    """The normal cell above the reduction cell, as the bytes of a `fmt` file; text stays text in SVG."""
    cells = []
    for name, cell in (("normal cell", genotype.normal), ("reduction cell", genotype.reduce)):
        graph = CellGraph.of(cell)
        layout = CellLayout.of(graph)
        cells.append((name, graph, layout, *route_cell(graph, layout)))
    margin, title_space = 0.25, 0.4
    width = max(layout.width for _, _, layout, *_ in cells) + 2 * margin
    top_space = 0.45 if title else 0.1
    height = sum(high - low + title_space for *_, low, high in cells) + top_space + margin
    figure = Figure(figsize=(width, height))
    y = height - top_space
    for name, graph, layout, connections, low, high in cells:
        y -= high - low + title_space
        # One data unit = one inch: the axes are exactly the drawing's size in inches.
        ax = figure.add_axes([margin / width, y / height, layout.width / width, (high - low) / height])
        ax.set_xlim(0, layout.width)
        ax.set_ylim(low, high)
        draw_cell(ax, graph, layout, connections, name)
    if title:
        figure.suptitle(title, fontsize=14, y=1 - 0.1 / height, va="top")
    buffer = io.BytesIO()
    with _svg_text_as_text():
        figure.savefig(buffer, format=fmt, dpi=150)
    return buffer.getvalue()


def _svg_text_as_text():
    """Keep labels as text in SVG (editable and searchable in a paper's figure), not as glyph outlines."""
    return matplotlib.rc_context({"svg.fonttype": "none"})
