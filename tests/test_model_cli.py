"""`nas ops`, `nas space`, `nas show`, `nas profile`: output, drawings, and one-line errors with exit code 2."""

import importlib.util
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from nas.cli import main
from nas.models.ops import list_ops

SPACES = Path(__file__).resolve().parents[1] / "search_spaces"



def run_cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_ops_lists_every_op_with_a_description(capsys):
    code, out, _ = run_cli(capsys, "ops")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(list_ops())
    for spec, line in zip(list_ops(), lines):
        assert line.startswith(spec.name) and spec.description in line
    assert "alias: identity" in out


def test_space_prints_decisions_ops_and_size(capsys):
    code, out, _ = run_cli(capsys, "space", SPACES / "nasnet.yaml")
    assert code == 0
    assert "normal.b0.op_a" in out and "reduce.b4.input_b" in out
    assert "sep_conv_7x7" in out and "operations (13)" in out
    assert "size:" in out


def test_space_with_an_unknown_op_exits_2(capsys, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("name: bad\nblocks: 2\nops: [sep_conv_3x3, warp_conv]\n")
    code, _, err = run_cli(capsys, "space", space)
    assert_one_line_error(code, err, "warp_conv")


GRAPHVIZ = pytest.mark.skipif(shutil.which("dot") is None or importlib.util.find_spec("graphviz") is None,
                              reason="graphviz (the dot program and the Python package) is not installed")


def svg_texts(path: Path) -> list[str]:
    """Every text of an SVG, whitespace dropped (matplotlib writes c_{k-2} as tspans "c", "k", "−", "2"; dot as
    the texts "c" and "k-2")."""
    root = ElementTree.parse(path).getroot()
    return ["".join("".join(element.itertext()).split()).replace("−", "-")
            for element in root.iter("{http://www.w3.org/2000/svg}text")]


def assert_valid_png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG" and min(image.size) > 300


def test_show_prints_the_genotype_and_names_nodes_as_the_diagrams(capsys):
    code, out, _ = run_cli(capsys, "show", "darts-v2")
    assert code == 0
    assert out.startswith("normal: add(sep_conv_3x3@0, sep_conv_3x3@1)")
    assert "hash: " in out and "DARTS: Genotype(" in out
    assert "normal cell: 4 blocks, output = concat of node 2, node 3, node 4, node 5" in out
    assert "  node 5 = add(skip_connect(c_{k-2}), dil_conv_3x3(node 2))" in out


@pytest.mark.parametrize("renderer", ["matplotlib", pytest.param("graphviz", marks=GRAPHVIZ)])
@pytest.mark.parametrize("name, blocks, outputs", [
    ("darts-v2", 4, 4),
    ("nasnet-a", 5, 6),  # the normal cell concatenates c_{k-2} with all five blocks
    ("amoebanet-a", 5, 3),
])  # fmt: skip
def test_diagram_names_nodes_as_the_text_and_draws_every_op(capsys, tmp_path, renderer, name, blocks, outputs):
    from nas.space.genotype_files import resolve_genotype

    genotype = resolve_genotype(name)
    code, out, _ = run_cli(capsys, "show", name, "--renderer", renderer, "--out", tmp_path / "cell.svg")
    assert code == 0 and f"(drawn with {renderer})" in out
    texts = svg_texts(tmp_path / "cell.svg")
    block_names = [str(node) for node in range(2, 2 + blocks)]
    # Each block's name once per cell, as `nas show` prints it; never the old 0-based numbering of blocks.
    assert sorted(text for text in texts if text.isdigit()) == sorted(block_names * 2)
    for subscript in ("k-2", "k-1"):  # c_{k-2} and c_{k-1}, once in each cell
        assert sum(text.endswith(subscript) for text in texts) == 2
    ops = [op for cell in genotype.cells().values() for block in cell.blocks for op in (block.op_a, block.op_b)]
    assert sorted(text for text in texts if text in set(ops)) == sorted(ops)  # one label per op edge
    assert {"normalcell", "reductioncell", name} <= set(texts)  # whitespace dropped
    code, _, _ = run_cli(capsys, "show", name, "--renderer", renderer, "--out", tmp_path / "cell.png")
    assert code == 0
    assert_valid_png(tmp_path / "cell.png")


def test_matplotlib_diagram_has_no_overlapping_boxes():
    """Op labels sit in boxes on a grid: no two boxes of a drawing overlap, for every published cell."""
    from nas.analysis.cell_diagram_matplotlib import CellLayout
    from nas.analysis.cell_graph import CellGraph
    from nas.models import resolve_genotype_for_model
    from nas.package_files import PUBLISHED_CELLS_DIR

    for path in sorted(PUBLISHED_CELLS_DIR.glob("*.yaml")):
        genotype = resolve_genotype_for_model(path.stem)
        for cell in (genotype.normal, genotype.reduce):
            layout = CellLayout.of(CellGraph.of(cell))
            boxes = [*layout.nodes.values(), *layout.ops.values()]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    apart = (abs(a.x - b.x) >= a.half_width + b.half_width
                             or abs(a.y - b.y) >= a.half_height + b.half_height)
                    assert apart, (path.stem, a, b)


def test_auto_falls_back_to_matplotlib_where_dot_is_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    code, out, _ = run_cli(capsys, "show", "darts-v2", "--out", tmp_path / "cell.png")
    assert code == 0 and "(drawn with matplotlib; " in out and "not installed" in out
    assert_valid_png(tmp_path / "cell.png")
    code, _, err = run_cli(capsys, "show", "darts-v2", "--renderer", "graphviz", "--out", tmp_path / "other.png")
    assert_one_line_error(code, err, "cannot draw with graphviz", "not installed")
    assert not (tmp_path / "other.png").exists()


def test_show_to_an_unknown_format_exits_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "show", "darts-v2", "--out", tmp_path / "cell.gif")
    assert_one_line_error(code, err, ".png")


def test_profile_json_has_integer_params_and_macs(capsys):
    code, out, _ = run_cli(capsys, "profile", "--genotype", "darts-v2", "--channels", "16", "--depth", "8", "--json")
    result = json.loads(out)
    assert code == 0 and isinstance(result["params"], int) and isinstance(result["macs"], int)
    assert result["params"] > 0 and result["macs"] > 0


def test_profile_takes_its_old_cells_flag_for_the_depth_with_the_notice_on_stderr(capsys):
    """--depth is the depth in every command; profile's old --cells still works, its notice kept off stdout, which
    holds the JSON."""
    code, out, err = run_cli(capsys, "profile", "--genotype", "darts-v2", "--channels", "16", "--cells", "8", "--json")
    assert code == 0 and json.loads(out)["cells"] == 8
    assert err.strip() == "nas profile: --cells is deprecated for the depth; use --depth"
    code, out, err = run_cli(capsys, "profile", "--genotype", "darts-v2", "--channels", "16", "--depth", "8", "--json")
    assert code == 0 and json.loads(out)["cells"] == 8 and err == ""


def test_profile_gives_condensenet_both_as_trained_and_as_condensed(capsys):
    code, out, _ = run_cli(capsys, "profile", "--baseline", "condensenet86", "--json")
    counts = json.loads(out)
    assert code == 0 and counts["params"] == 1_451_594 and counts["inference_params"] == 516_202
    assert counts["inference_macs"] < counts["macs"] / 2
    code, out, _ = run_cli(capsys, "profile", "--baseline", "resnet20", "--json")
    assert code == 0 and "inference_params" not in json.loads(out)


def test_profile_options(capsys):
    code, out, _ = run_cli(capsys, "profile", "--genotype", "enas", "--stack", "imagenet", "--channels", "16",
                           "--depth", "5", "--image-size", "64", "--num-classes", "100", "--json")
    result = json.loads(out)
    assert code == 0 and result["image_size"] == 64 and result["num_classes"] == 100 and result["cells"] == 5


def test_unknown_op_in_a_genotype_file_exits_2(capsys, tmp_path):
    path = tmp_path / "bad_op.yaml"
    path.write_text("normal:\n  blocks:\n  - [0, warp_conv_3x3, 1, skip_connect, add]\n"
                    "reduce:\n  blocks:\n  - [0, max_pool_3x3, 1, max_pool_3x3, add]\n")
    for argv in (("show", path), ("profile", "--genotype", path)):
        code, _, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, "warp_conv_3x3")


def test_unknown_baseline_exits_2(capsys):
    code, _, err = run_cli(capsys, "profile", "--baseline", "resnet57")
    assert_one_line_error(code, err, "resnet57", "resnet56")


def test_unknown_stack_exits_2(capsys):
    assert main(["profile", "--genotype", "darts-v2", "--stack", "mobile"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_group_conv_with_indivisible_channels_exits_2(capsys, tmp_path):
    path = tmp_path / "group.yaml"
    path.write_text("normal: 'add(group_conv_3x3@0, skip_connect@1)'\nreduce: 'add(max_pool_3x3@0, conv_3x3@1)'\n")
    code, _, err = run_cli(capsys, "profile", "--genotype", path, "--channels", "18", "--depth", "3")
    assert_one_line_error(code, err, "group_conv_3x3", "C=18", "4")
    code, _, _ = run_cli(capsys, "profile", "--genotype", path, "--channels", "16", "--depth", "3", "--json")
    assert code == 0


def test_malformed_yaml_exits_2(capsys, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("normal: [unclosed\nreduce: {\n")
    for argv in (("show", path), ("profile", "--genotype", path), ("space", path)):
        code, _, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, "broken.yaml")


def test_missing_genotype_exits_2(capsys):
    code, _, err = run_cli(capsys, "show", "no-such-cell")
    assert_one_line_error(code, err, "no-such-cell", "darts-v2")


def test_cli_stack_choices_come_from_the_registry(capsys):
    from nas.models.registry import model_names

    code, _, err = run_cli(capsys, "profile", "--genotype", "darts-v2", "--stack", "no-such-stack")
    assert_one_line_error(code, err, "no-such-stack", *model_names(kind="stack"))  # argparse, with the registry's list
    assert main(["profile", "--help"]) == 0
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps lines, even inside names
    assert ",".join(model_names(kind="stack")) in help_text


def test_space_command_describes_the_nasbench201_space(capsys):
    from pathlib import Path

    space_file = Path(__file__).resolve().parents[1] / "search_spaces" / "nasbench201.yaml"
    assert main(["space", str(space_file)]) == 0
    out = capsys.readouterr().out
    assert "6 decisions" in out and "nor_conv_3x3" in out and "size: 15,625 architectures" in out


def test_space_too_large_to_print_in_digits_is_given_as_a_power_of_ten(capsys, tmp_path):
    space = tmp_path / "huge.yaml"  # over 4,300 digits: Python refuses to write such an int out
    space.write_text("name: huge\nblocks: 600\nops: [sep_conv_3x3, skip_connect, max_pool_3x3]\n")
    code, out, err = run_cli(capsys, "space", space)
    assert code == 0 and err == ""
    size = out.strip().splitlines()[-1]
    assert size.startswith("size: about ") and "e+6" in size and size.split()[3].startswith("architectures")
