"""Cell diagrams in the style of the NASNet and DARTS papers, drawn with plain matplotlib.

Nodes sit in layers (inputs left, each block one layer right of the later of its inputs, the cell output last);
each branch is an arrow labelled with its op, coloured by op family; the output nodes feed c_{k} by dashed arrows.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.path import Path as MplPath

from nas.atomic_files import write_bytes_atomic
from nas.errors import ConfigError
from nas.space.genotype import NUM_CELL_INPUTS, Cell, Genotype

FORMATS = ("png", "svg", "pdf")
INPUT_LABELS = ("c_{k-2}", "c_{k-1}")
# Op families and their edge colours; the first matching prefix wins.
OP_COLOURS = (
    ("skip_connect", "#7f7f7f"),
    ("none", "#d0d0d0"),
    ("sep_conv", "#1f77b4"),
    ("dil_conv", "#17becf"),
    ("max_pool", "#2ca02c"),
    ("avg_pool", "#98df8a"),
    ("se_block", "#9467bd"),
    ("sk_conv", "#9467bd"),
    ("", "#ff7f0e"),  # other convolutions and user ops
)


def op_colour(op: str) -> str:
    return next(colour for prefix, colour in OP_COLOURS if op.startswith(prefix))


def layered_positions(cell: Cell) -> dict[int | str, tuple[float, float]]:
    """x = layer (longest path from the inputs), y spread evenly within a layer; 'out' is the cell output."""
    layer: dict[int, int] = {0: 0, 1: 0}
    for index, block in enumerate(cell.blocks):
        layer[NUM_CELL_INPUTS + index] = 1 + max(layer[block.input_a], layer[block.input_b])
    columns: dict[int, list[int]] = {}
    for node, column in layer.items():
        columns.setdefault(column, []).append(node)
    tallest = max(len(nodes) for nodes in columns.values())
    positions: dict[int | str, tuple[float, float]] = {}
    for column, nodes in columns.items():
        # Sparse columns (the two inputs) spread out too, so their edges fan out instead of bunching.
        span = min(tallest - 1, (len(nodes) - 1) * 2.5)
        for rank, node in enumerate(nodes):
            y = span / 2 - rank * span / (len(nodes) - 1) if len(nodes) > 1 else 0.0
            if column % 2 and len(nodes) < tallest:
                y += 0.5  # stagger, so straight edges between farther columns miss the nodes between them
            positions[node] = (column * 1.6, y)
    positions["out"] = ((max(columns) + 1) * 1.6, 0.0)
    return positions


def _node_label(cell: Cell, node: int) -> str:
    if node < NUM_CELL_INPUTS:
        return f"${INPUT_LABELS[node]}$"
    block = cell.blocks[node - NUM_CELL_INPUTS]
    return f"{node - NUM_CELL_INPUTS}" + ("" if block.combine == "add" else "\nconcat")


def _control_point(start, end, bend: float) -> tuple[float, float]:
    """Control point of a quadratic Bezier edge: the chord's midpoint moved sideways by bend * chord length."""
    (x1, y1), (x2, y2) = start, end
    return (x1 + x2) / 2 + bend * (y2 - y1), (y1 + y2) / 2 - bend * (x2 - x1)


def _curve_point(start, end, bend: float, t: float) -> tuple[float, float]:
    (x1, y1), (x2, y2) = start, end
    cx, cy = _control_point(start, end, bend)
    a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t**2
    return a * x1 + b * cx + c * x2, a * y1 + b * cy + c * y2


def _edge_path(start, end, bend: float, trim_start: float = 0.22, trim_end: float = 0.25) -> MplPath:
    """The edge as a Bezier in data coordinates, trimmed so it starts and ends at the node boxes' edges.
    (matplotlib's own arc3 bends in display space, where our label positions could not follow it.)"""
    length = math.dist(start, end) or 1.0
    t0, t1 = min(trim_start / length, 0.4), max(1 - trim_end / length, 0.6)
    (x1, y1), (x2, y2) = start, end
    cx, cy = _control_point(start, end, bend)
    # The control point of the sub-curve between t0 and t1 (blossom of the quadratic at (t0, t1)).
    w0, w1, w2 = (1 - t0) * (1 - t1), (1 - t0) * t1 + t0 * (1 - t1), t0 * t1
    control = (w0 * x1 + w1 * cx + w2 * x2, w0 * y1 + w1 * cy + w2 * y2)
    vertices = [_curve_point(start, end, bend, t0), control, _curve_point(start, end, bend, t1)]
    return MplPath(vertices, [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])


def _label_position(start, end, bend: float, placed: list[tuple[float, float]]) -> tuple[float, float]:
    """Slide the op label along its edge to the first spot clear of the labels already placed."""
    best, best_clearance = None, -1.0
    for t in (0.5, 0.35, 0.65, 0.25, 0.75, 0.42, 0.58):
        x, y = _curve_point(start, end, bend, t)
        # Labels are about 0.8 wide and 0.25 tall in data units: measure clearance in label-sized units.
        clearance = min((max(abs(x - px) / 0.8, abs(y - py) / 0.25) for px, py in placed), default=9.0)
        if clearance >= 1.0:
            return x, y
        if clearance > best_clearance:
            best, best_clearance = (x, y), clearance
    return best


def draw_cell(ax, cell: Cell, title: str) -> None:
    positions = layered_positions(cell)
    edges = []  # (source, target, op)
    for index, block in enumerate(cell.blocks):
        for op, source in block.branches():
            edges.append((source, NUM_CELL_INPUTS + index, op))
    placed: list[tuple[float, float]] = [xy for xy in positions.values()]  # labels keep clear of nodes too
    seen: dict[tuple, int] = {}
    for source, target, op in edges:
        start, end = positions[source], positions[target]
        # Bend the second of two branches from one node into one block (they would overlap), and edges that skip a
        # column (a straight one could run through the nodes in between).
        skips = end[0] - start[0] > 1.7
        bend = 0.25 if (source, target) in seen else (-0.15 if skips else 0.0)
        seen[(source, target)] = 1
        ax.add_patch(FancyArrowPatch(path=_edge_path(start, end, bend), arrowstyle="-|>", mutation_scale=12,
                                     color=op_colour(op), lw=1.6))
        x, y = _label_position(start, end, bend, placed)
        placed.append((x, y))
        ax.text(x, y, op, fontsize=7, ha="center", va="center", color="black",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=op_colour(op), lw=0.8))
    out_x, out_y = positions["out"]
    for node in cell.output_nodes():
        x, y = positions[node]
        bend = 0.12 if out_x - x > 1.7 else 0.0  # as above: miss the nodes of the columns in between
        ax.add_patch(FancyArrowPatch(path=_edge_path((x, y), (out_x, out_y), bend), arrowstyle="-|>",
                                     mutation_scale=10, color="#555555", lw=1.0, linestyle="--"))
    for node, (x, y) in positions.items():
        if node == "out":
            label, colour = "$c_{k}$", "#fde0dd"
        elif node < NUM_CELL_INPUTS:
            label, colour = _node_label(cell, node), "#c6dbef"
        else:
            label, colour = _node_label(cell, node), "#fff7bc"
        ax.text(x, y, label, fontsize=9, ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.4", fc=colour, ec="black", lw=1.0))
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 1.0, max(ys) + 1.0)
    ax.set_title(title)
    ax.axis("off")


def render_genotype(genotype: Genotype, fmt: str = "png", title: str | None = None) -> bytes:
    """The normal and reduction cells side by side, as the bytes of a `fmt` file."""
    widths = [max(layered_positions(cell)["out"][0], 3.2) + 1.2 for cell in (genotype.normal, genotype.reduce)]
    figure = Figure(figsize=(1.5 * sum(widths) + 0.5, 4.6))
    axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": widths})
    draw_cell(axes[0], genotype.normal, "normal cell")
    draw_cell(axes[1], genotype.reduce, "reduction cell")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=150)
    return buffer.getvalue()


def save_cell_diagram(genotype: Genotype, path, title: str | None = None) -> MplPath:
    """Draw `genotype` to `path`; the format follows the suffix (.png, .svg or .pdf)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"cannot draw to {path}: the file name must end in {', '.join('.' + f for f in FORMATS)}")
    write_bytes_atomic(path, render_genotype(genotype, fmt, title))
    return path
