"""NAS-Bench-201: the space matches the benchmark's strings, and benchmark mode never leaks test accuracy."""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nas.cli import main
from nas.errors import ConfigError
from nas.bench import tabular_benchmark
from nas.bench.tabular_benchmark import BenchmarkTable, benchmark_sampler, run_benchmark_search
from nas.space.nasbench201 import NASBENCH201_OPS, NasBench201Space

REPO = Path(__file__).resolve().parents[1]
# .ci/run sets NAS_NB201_TABLE; a checkout beside shared/ finds the table there.
SHARED_TABLE = Path(os.environ.get(
    "NAS_NB201_TABLE",
    Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "nasbench201" / "nb201_cifar10.csv"))



def test_space_shape_and_names():
    space = NasBench201Space()
    assert [d.name for d in space.decisions] == ["edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"]
    assert all(d.choices == NASBENCH201_OPS for d in space.decisions)
    assert space.size == 15625


def test_decode_writes_the_benchmark_format():
    space = NasBench201Space()
    arch = space.decode((3, 3, 0, 1, 2, 4))
    assert arch == "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
    assert space.encode(arch) == (3, 3, 0, 1, 2, 4)


@pytest.mark.skipif(not SHARED_TABLE.exists(), reason="shared NAS-Bench-201 table not present")
def test_round_trip_over_every_arch_in_the_table():
    space = NasBench201Space()
    archs = pd.read_csv(SHARED_TABLE, usecols=["arch"])["arch"]
    encoded = [space.encode(arch) for arch in archs]
    assert len(set(encoded)) == 15625
    assert all(space.decode(choices) == arch for choices, arch in zip(encoded, archs))


@pytest.mark.parametrize(
    "arch, problem",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|", "3 nodes"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "should read op~0"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "needs 2 edges"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must be written"),
    ],
)
def test_encode_rejects_bad_strings(arch, problem):
    with pytest.raises(ConfigError, match=problem):
        NasBench201Space().encode(arch)


def test_from_config_and_yaml_file():
    config = yaml.safe_load((REPO / "search_spaces" / "nasbench201.yaml").read_text())
    space = NasBench201Space.from_config(config)
    assert config["type"] == "nasbench201" and space.ops == NASBENCH201_OPS
    with pytest.raises(ConfigError, match="unknown key"):
        NasBench201Space.from_config({"type": "nasbench201", "opps": []})
    with pytest.raises(ConfigError, match="distinct"):
        NasBench201Space.from_config({"type": "nasbench201", "ops": ["none", "none"]})


def test_sample_is_seeded_and_in_range():
    space = NasBench201Space()
    assert space.sample(np.random.default_rng(1)) == space.sample(np.random.default_rng(1))
    assert all(0 <= c < 5 for c in space.sample(np.random.default_rng(2)))


# --- benchmark mode on a small synthetic table ------------------------------------------------------------------


def write_table(path: Path, *, seed: int = 0, test_offset: float = 0.0, dataset: str = "cifar10",
                test_base: float = 80.0) -> pd.DataFrame:
    """A synthetic table over all 15,625 cells, with `dataset`'s columns: the signal rises with conv edges; test
    accuracy (from `test_base`, up to about test_base + 13) is another function."""
    space = NasBench201Space()
    rng = np.random.default_rng(seed)
    cells = list(itertools.product(range(5), repeat=6))
    convs = np.array([sum(c in (2, 3) for c in choices) for choices in cells], dtype=float)
    frame = pd.DataFrame(
        {
            "index": range(len(cells)),
            "arch": [space.decode(choices) for choices in cells],
            f"{dataset}_valid_acc_12ep": 50 + 5 * convs + 10 * rng.random(len(cells)),
            f"{dataset}_test_acc_200ep": test_base + 2 * convs + rng.random(len(cells)) + test_offset,
            f"params_M_{dataset}": 0.1 + 0.2 * convs,
            f"flops_M_{dataset}": 10 + 20 * convs,
        }
    )
    frame.to_csv(path, index=False)
    return frame


def test_search_picks_best_by_signal_and_counts_distinct_cells(tmp_path):
    frame = write_table(tmp_path / "table.csv")
    table = BenchmarkTable.read_csv(tmp_path / "table.csv")
    run = run_benchmark_search(table, "evolution", budget=40, seed=0, options={"population_size": 10, "sample_size": 3})
    assert run.evaluations == 40 and run.asks >= 40
    row = frame.index[frame["arch"] == run.picked_arch][0]
    assert run.picked_test == pytest.approx(frame.loc[row, "cifar10_test_acc_200ep"])
    assert run.picked_signal == pytest.approx(frame.loc[row, "cifar10_valid_acc_12ep"])
    assert len(run.curve) == 40 and run.curve[-1] == run.picked_test


def record_sampler_traffic(monkeypatch) -> list:
    """Log every ask and every outcome the benchmark hands to a sampler."""
    log = []
    real_make_sampler = tabular_benchmark.make_sampler

    def make_logged_sampler(*args, **kwargs):
        sampler = real_make_sampler(*args, **kwargs)
        ask, tell = sampler.ask, sampler.tell

        def logged_ask():
            suggestion = ask()
            log.append(("ask", suggestion.choices))
            return suggestion

        def logged_tell(token, outcome):
            log.append(("tell", outcome))
            tell(token, outcome)

        sampler.ask, sampler.tell = logged_ask, logged_tell
        return sampler

    monkeypatch.setattr(tabular_benchmark, "make_sampler", make_logged_sampler)
    return log


@pytest.mark.parametrize("name", ["tpe", "evolution", "controller"])
def test_test_accuracy_never_reaches_the_sampler(tmp_path, monkeypatch, name):
    """Same signal, another test column: the sampler must ask the same cells and be told exactly the same."""
    frame = write_table(tmp_path / "a.csv")
    write_table(tmp_path / "b.csv", test_offset=7.0)
    logs, picks = [], []
    for path in ("a.csv", "b.csv"):
        log = record_sampler_traffic(monkeypatch)
        summary = benchmark_sampler(BenchmarkTable.read_csv(tmp_path / path), name, budget=25, runs=2, seed=3)
        monkeypatch.undo()
        logs.append(log)
        picks.append([run.picked_arch for run in summary.runs])
    assert logs[0] == logs[1] and picks[0] == picks[1]
    outcomes = [entry for kind, entry in logs[0] if kind == "tell"]
    assert len(outcomes) >= 50
    signals = set(np.round(frame["cifar10_valid_acc_12ep"] / 100, 9))
    assert {round(outcome.reward, 9) for outcome in outcomes} <= signals
    assert all(set(outcome.costs) == {"params", "macs"} for outcome in outcomes)


def test_cli_bench_writes_table_and_plot(tmp_path, capsys):
    write_table(tmp_path / "table.csv")
    code = main([
        "bench", "nasbench201", "--table", str(tmp_path / "table.csv"), "--sampler", "all",
        "--budget", "20", "--runs", "2", "--out", str(tmp_path / "out"),
        "--option", "evolution.population_size=5", "--option", "evolution.sample_size=2",
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    for name in ("tpe", "random", "nsga2", "evolution", "controller"):
        assert f"| {name} |" in printed
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary["sampler"]) == ["controller", "evolution", "nsga2", "random", "tpe"]  # registry order
    assert (summary["evaluations_mean"] == 20).all()
    assert (tmp_path / "out" / "nasbench201.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--table", "/no/such/table.csv"], "does not exist"),
        (["--sampler", "bogus"], "unknown sampler 'bogus'"),
        (["--budget", "0"], "--budget must be at least 1"),
        (["--sampler", "tpe", "--option", "n_startup=3"], "no option 'n_startup'"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    write_table(tmp_path / "table.csv")
    base = ["bench", "nasbench201", "--table", str(tmp_path / "table.csv"), "--runs", "1", "--budget", "5"]
    assert main(base + arguments) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("nas bench: error:") and message in error


# --- datasets other than CIFAR-10 -------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset, test_base, published", [
    ("ImageNet16-120", 30.0, False),
    ("cifar100", 60.0, False),
    ("cifar10", 80.0, True),
])  # fmt: skip
def test_cli_bench_on_each_dataset(tmp_path, capsys, dataset, test_base, published):
    """--dataset picks the columns; summary.csv says where it came from; published rows only for their dataset;
    the plot's y-axis follows the data (no CIFAR-10 floor of 80 on ImageNet16-120)."""
    from PIL import Image

    frame = write_table(tmp_path / "table.csv", dataset=dataset, test_base=test_base)
    out = tmp_path / "out"
    code = main(["bench", "nasbench201", "--table", str(tmp_path / "table.csv"), "--dataset", dataset,
                 "--sampler", "random", "--budget", "100", "--runs", "2", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    title = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}.get(dataset, dataset)
    assert f"NAS-Bench-201 {title} (table.csv)" in printed
    optimum = frame[f"{dataset}_test_acc_200ep"].max()
    assert f"optimum {optimum:.2f}" in printed
    assert ("(published)" in printed) == published and ("REA (published) | 500 | 93.92" in printed) == published

    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns[:4]) == ["table", "table_sha256", "dataset", "sampler"]
    assert (summary["table"] == "table.csv").all() and (summary["dataset"] == dataset).all()  # no machine's path
    assert (summary["table_sha256"] == hashlib.sha256((tmp_path / "table.csv").read_bytes()).hexdigest()).all()
    assert test_base <= summary.loc[0, "test_mean"] <= optimum
    with Image.open(out / "nasbench201.png") as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] > 500


def test_plot_y_limits_follow_the_data(tmp_path):
    from nas.analysis.benchmark_plot import SETTLED_AFTER, plot_search_curves

    write_table(tmp_path / "table.csv", dataset="ImageNet16-120", test_base=30.0)
    table = BenchmarkTable.read_csv(tmp_path / "table.csv", dataset="ImageNet16-120")
    summaries = [benchmark_sampler(table, "random", budget=30, runs=3, seed=0)]
    low, high = plot_search_curves(summaries, tmp_path / "plot.png", optimum=table.optimum, title="t")
    settled = summaries[0].curves.mean(axis=0)[SETTLED_AFTER - 1:]
    assert low < settled.min() and high > table.optimum  # everything after the first picks is on the axis
    assert high < 50  # no CIFAR-10 floor: ImageNet16-120 accuracies (30-44 %) fill the plot
    assert (high - low) < 1.3 * (table.optimum - settled.min()) + 0.5  # and the axis is not much wider than them


def test_table_without_the_datasets_columns_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    write_table(tmp_path / "table.csv", dataset="cifar10")
    out = tmp_path / "out"
    code = main(["bench", "nasbench201", "--table", str(tmp_path / "table.csv"), "--dataset", "cifar100",
                 "--runs", "1", "--budget", "5", "--out", str(out)])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "cifar100_valid_acc_12ep" in lines[0] and "it has dataset(s) cifar10" in lines[0]
    assert not out.exists()


def test_published_rows_are_read_from_the_data_file_with_sources(tmp_path):
    from nas.analysis.published_results import nasbench201_published

    rows = nasbench201_published("cifar10")
    assert [row.method for row in rows] == ["REA", "REINFORCE", "random search", "BOHB"]
    assert rows[0].test_mean == 93.92 and rows[0].runs == 500 and "Dong & Yang" in rows[0].source
    assert nasbench201_published("ImageNet16-120") == []
    bad = tmp_path / "published.yaml"
    bad.write_text("sources: {}\nresults:\n- {dataset: cifar10, method: X, test_mean: 1, test_std: 0, runs: 1, "
                   "source: nobody}\n")
    with pytest.raises(ConfigError, match="unknown source 'nobody'"):
        nasbench201_published("cifar10", bad)


def test_the_shipped_summary_names_its_table_by_file_name_and_checksum():
    summary = pd.read_csv(Path(__file__).resolve().parents[1] / "results" / "nasbench201" / "summary.csv")
    assert (summary["table"] == "nb201_cifar10.csv").all()  # not the path on the machine that ran it
    assert summary["table_sha256"].str.fullmatch("[0-9a-f]{64}").all()
