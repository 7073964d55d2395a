"""`nas ops`, `nas space`, `nas show`, `nas profile`: output, drawings, and one-line errors with exit code 2."""

import json
from pathlib import Path

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


def test_show_prints_the_genotype_and_draws_png_and_svg(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "show", "darts-v2", "--out", tmp_path / "cell.png")
    assert code == 0
    assert out.startswith("normal: add(sep_conv_3x3@0, sep_conv_3x3@1)")
    assert "hash: " in out and "DARTS: Genotype(" in out
    assert (tmp_path / "cell.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, _ = run_cli(capsys, "show", "nasnet-a", "--out", tmp_path / "cell.svg")
    assert code == 0 and b"<svg" in (tmp_path / "cell.svg").read_bytes()[:500]


def test_show_a_file_with_concat_blocks(capsys, tmp_path):
    path = tmp_path / "cell.yaml"
    path.write_text("normal: 'concat(sep_conv_3x3@0, skip_connect@1) add(conv_1x1@2, se_block@0)'\n"
                    "reduce: 'add(max_pool_3x3@0, sk_conv@1)'\n")
    code, out, _ = run_cli(capsys, "show", path, "--out", tmp_path / "cell.png")
    assert code == 0 and "concat(" in out and "DARTS" not in out
    assert (tmp_path / "cell.png").exists()


def test_show_to_an_unknown_format_exits_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "show", "darts-v2", "--out", tmp_path / "cell.gif")
    assert_one_line_error(code, err, ".png")


def test_profile_json_has_integer_params_and_macs(capsys):
    code, out, _ = run_cli(capsys, "profile", "--genotype", "darts-v2", "--channels", "16", "--cells", "8", "--json")
    result = json.loads(out)
    assert code == 0 and isinstance(result["params"], int) and isinstance(result["macs"], int)
    assert result["params"] > 0 and result["macs"] > 0


def test_profile_options(capsys):
    code, out, _ = run_cli(capsys, "profile", "--genotype", "enas", "--stack", "imagenet", "--channels", "16",
                           "--cells", "5", "--image-size", "64", "--num-classes", "100", "--json")
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
    code, _, err = run_cli(capsys, "profile", "--genotype", path, "--channels", "18", "--cells", "3")
    assert_one_line_error(code, err, "group_conv_3x3", "C=18", "4")
    code, _, _ = run_cli(capsys, "profile", "--genotype", path, "--channels", "16", "--cells", "3", "--json")
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
