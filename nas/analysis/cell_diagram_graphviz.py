"""Cell diagrams laid out by graphviz's `dot`, as the DARTS papers draw them: inputs left, op names on the edges,
the concatenated output right. dot places edge labels itself, so they never overlap however dense the cell.

Needs the `graphviz` Python package (pip install 'nas-engine[diagrams]') and the `dot` program (apt-get install
graphviz); `graphviz_missing()` says which is absent, and the caller falls back to matplotlib.
"""

from __future__ import annotations

import shutil

from nas.analysis.cell_graph import OUTPUT_NAME, CellGraph, node_name, op_colour
from nas.space.genotype import NUM_CELL_INPUTS, Genotype

INPUT_FILL, BLOCK_FILL, OUTPUT_FILL = "#c6dbef", "#fff7bc", "#fde0dd"
FONT = "Helvetica"


def graphviz_missing() -> str | None:
    """Why graphviz cannot draw here (one line), or None when it can."""
    try:
        import graphviz  # noqa: F401  - an optional dependency ([diagrams]): importing it is the check
    except ImportError:
        return "the graphviz Python package is not installed (pip install 'nas-engine[diagrams]')"
    if shutil.which("dot") is None:
        return "graphviz's dot program is not installed (e.g. apt-get install graphviz)"
    return None


def _html_name(name: str) -> str:
    """c_{k-2} -> c<SUB>k-2</SUB>: the text's name, typeset as in the papers (HTML-like labels of dot)."""
    if "_{" in name:
        base, subscript = name.rstrip("}").split("_{", 1)
        return f"{base}<SUB>{subscript}</SUB>"
    return name


def _node_label(graph: CellGraph, node: int) -> str:
    label = _html_name(node_name(node))
    if graph.combine(node) == "concat":  # add is the default and goes unsaid
        label += '<BR/><FONT POINT-SIZE="9">concat</FONT>'
    return f"<{label}>"


def _add_cell(digraph, graph: CellGraph, prefix: str, title: str) -> None:
    with digraph.subgraph(name=f"cluster_{prefix}") as cluster:
        cluster.attr(label=title, fontname=FONT, fontsize="14", style="rounded", color="#bbbbbb")
        with cluster.subgraph() as inputs:  # both inputs in the first column
            inputs.attr(rank="source")
            for node in range(NUM_CELL_INPUTS):
                inputs.node(f"{prefix}{node}", _node_label(graph, node), fillcolor=INPUT_FILL)
        for node in graph.nodes[NUM_CELL_INPUTS:]:
            cluster.node(f"{prefix}{node}", _node_label(graph, node), fillcolor=BLOCK_FILL)
        cluster.node(f"{prefix}out", f"<{_html_name(OUTPUT_NAME)}>", fillcolor=OUTPUT_FILL)
        for edge in graph.edges:
            colour = op_colour(edge.op)
            cluster.edge(f"{prefix}{edge.source}", f"{prefix}{edge.target}", label=edge.op, color=colour,
                         fontcolor=colour, penwidth="1.6")
        for node in graph.outputs:
            cluster.edge(f"{prefix}{node}", f"{prefix}out", style="dashed", color="#555555", arrowsize="0.7")


def render_genotype_graphviz(genotype: Genotype, fmt: str, title: str | None = None) -> bytes:
    """The normal cell above the reduction cell, as the bytes of a `fmt` (png, svg, pdf) file."""
    import graphviz  # an optional dependency ([diagrams]): graphviz_missing() said it is there

    digraph = graphviz.Digraph(
        graph_attr={"rankdir": "LR", "fontname": FONT, "nodesep": "0.35", "ranksep": "0.9", "dpi": "150",
                    "label": title or "", "labelloc": "t", "fontsize": "16", "newrank": "true"},
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": FONT, "fontsize": "14", "penwidth": "1.2"},
        edge_attr={"fontname": FONT, "fontsize": "11"},
    )  # fmt: skip
    # dot stacks the clusters of a left-to-right graph bottom-up: the reduction cell goes first to land below.
    _add_cell(digraph, CellGraph.of(genotype.reduce), "r", "reduction cell")
    _add_cell(digraph, CellGraph.of(genotype.normal), "n", "normal cell")
    return digraph.pipe(format=fmt)
