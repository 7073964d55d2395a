"""NAS-Bench-201 architecture strings build the benchmark's networks wherever a genotype builds a network: counts
equal the benchmark's table, and `nas profile`, `nas show` and `nas train` take the strings."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from torch import nn

from nas.cli import main
from nas.errors import ConfigError
from nas.models import benchmark_flops, build_model, is_nasbench201_arch
from nas.models.nasbench201_network import NasBench201Network, cells_per_stage
from nas.models.profile import count_params
from nas.train.network_for_data import network_for_data
from nas.train.recipe import load_recipe
from search_fixtures import make_image_folder

# Row 1 of the benchmark's CIFAR-10 table: 0.802426M params, 113.95137M FLOPs.
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
ARCH_PARAMS, ARCH_FLOPS = 802_426, 113_951_370
SAMPLE_ROWS = 200


@pytest.fixture(scope="module")
def table_sample() -> pd.DataFrame:
    """A seeded sample of the benchmark's table ($NAS_NB201_TABLE; .ci/run sets it)."""
    path = os.environ.get("NAS_NB201_TABLE")
    if not path:
        pytest.skip("NAS_NB201_TABLE is not set (point it at ../shared/benchmarks/nasbench201/nb201_cifar10.csv)")
    table = pd.read_csv(path, usecols=["arch", "params_M_cifar10", "flops_M_cifar10"])
    return table.sample(SAMPLE_ROWS, random_state=0)


def test_params_of_a_sample_of_the_table_equal_the_benchmarks(table_sample):
    counted = [count_params(build_model(genotype=arch)) / 1e6 for arch in table_sample["arch"]]
    assert counted == pytest.approx(list(table_sample["params_M_cifar10"]), abs=5e-7)  # the table's 6 decimals


def test_benchmark_flops_of_a_sample_of_the_table_equal_the_benchmarks(table_sample):
    # On the CPU: the meta device would need no memory but counts these small networks 10x slower.
    counted = [benchmark_flops(build_model(genotype=arch), (3, 32, 32)) / 1e6 for arch in table_sample["arch"]]
    assert counted == pytest.approx(list(table_sample["flops_M_cifar10"]), abs=5e-6)  # the table's 5 decimals


def test_benchmark_flops_count_bias_adds_but_not_pooling_or_batch_norm():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.AvgPool2d(3, 1, 1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    conv = 4 * 4 * 4 * 3 * 9 + 4 * 4 * 4  # 16 positions x 4 outputs x 27 multiply-adds, plus one bias add each
    linear = 4 * 2 + 2
    assert benchmark_flops(model, (3, 4, 4)) == conv + linear
    assert not any(module._forward_hooks for module in model.modules())  # the counting hooks are gone


def test_a_string_starting_with_a_bar_is_a_nasbench201_arch():
    assert is_nasbench201_arch(ARCH) and is_nasbench201_arch(" |none~0|")
    assert not any(is_nasbench201_arch(text) for text in ("darts-v2", "normal: add(...)", None))


def test_build_model_and_network_for_data_build_the_benchmarks_network():
    """C=16 and 17 cells whatever the recipe says (its sizes are for cell stacks), unless asked explicitly."""
    recipe = load_recipe("proxy")  # channels 16, cells 8
    data = {"num_classes": 10, "in_channels": 3, "image_size": 32}
    built = network_for_data(recipe=recipe, genotype=ARCH, stack="cifar", **data)
    assert isinstance(built, NasBench201Network) and (built.channels, built.depth) == (16, 17)
    assert count_params(built) == count_params(build_model(genotype=ARCH)) == ARCH_PARAMS
    smaller = network_for_data(recipe=recipe, genotype=ARCH, channels=8, cells=8, **data)
    assert (smaller.channels, smaller.depth) == (8, 8) and len(smaller.cells) == 8
    assert build_model(genotype=ARCH, num_classes=3).classifier.out_features == 3


@pytest.mark.parametrize("cells, per_stage", [(None, 5), (5, 1), (8, 2), (17, 5)])
def test_depth_counts_the_reduction_blocks(cells, per_stage):
    assert cells_per_stage(cells) == per_stage


@pytest.mark.parametrize("cells, nearest", [(4, "try 5"), (10, "try 8 or 11"), (18, "try 17 or 20")])
def test_a_depth_that_is_not_3n_plus_2_is_refused(cells, nearest):
    with pytest.raises(ConfigError, match=f"3N\\+2 cells .* got {cells}: {nearest}$"):
        build_model(genotype=ARCH, cells=cells)


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_profile_json_gives_params_macs_and_the_benchmarks_flops(capsys):
    code, out, _ = run_cli(capsys, "profile", "--genotype", ARCH, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["params"] == ARCH_PARAMS and result["benchmark_flops"] == ARCH_FLOPS
    assert result["macs"] == ARCH_FLOPS - 10  # the classifier's 10 bias adds are the only difference
    assert (result["network"], result["channels"], result["cells"], result["genotype"]) == ("nasbench201", 16, 17,
                                                                                              ARCH)


def test_show_prints_the_cells_nodes_and_edges(capsys):
    code, out, _ = run_cli(capsys, "show", ARCH)
    assert code == 0
    assert out.splitlines() == [
        ARCH,
        "NAS-Bench-201 cell: 4 nodes, 6 edges; node 0 is the cell's input, node 3 its output",
        "  node 1 = nor_conv_3x3(node 0)",
        "  node 2 = nor_conv_3x3(node 0) + avg_pool_3x3(node 1)",
        "  node 3 = skip_connect(node 0) + nor_conv_3x3(node 1) + skip_connect(node 2)",
    ]


def test_train_trains_the_benchmarks_network_on_the_data(tmp_path, capsys):
    data = make_image_folder(tmp_path / "data")
    out = tmp_path / "run"
    code, printed, _ = run_cli(capsys, "train", "--genotype", ARCH, "--data", str(data), "--epochs", "1",
                               "--batch-size", "16", "--subset", "30", "--val-size", "6", "--cache-dir",
                               str(tmp_path / "cache"), "--no-progress", "--out", str(out))
    assert code == 0, printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["model"]["channels"] == 16 and metrics["model"]["cells"] == 17
    assert metrics["params"] == ARCH_PARAMS - (64 + 1) * (10 - 3)  # the same network with a 3-class classifier


@pytest.mark.parametrize("argv, message", [
    (("show", "|nor_conv_3x3~0|+|none~0|"), "expected 3 nodes joined by '+', got 2"),
    (("profile", "--genotype", ARCH.replace("avg_pool_3x3", "max_pool_3x3")), "unknown op 'max_pool_3x3'"),
    (("train", "--genotype", ARCH.replace("~2|", "~1|"), "--data", "d", "--out", "o"),
     "node 3 edge 'skip_connect~1' should read op~2"),
    (("profile", "--genotype", ARCH, "--stack", "cifar"), "stack 'cifar' stacks NASNet-style cells"),
    (("train", "--genotype", ARCH, "--depth", "10", "--data", "d", "--out", "o"), "got 10: try 8 or 11"),
    (("show", ARCH, "--out", "cell.png"), "a NAS-Bench-201 cell is shown as text only"),
])  # fmt: skip
def test_bad_nasbench201_requests_are_one_line_and_exit_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not any(tmp_path.iterdir())  # refused before anything was written
