"""`nas baselines` reads the counts recorded in nas/models/baseline_table.csv instead of building 78 networks: the
file must agree with the registry and with freshly built networks, and the command must not load torch."""

import subprocess
import sys

import pytest
from torch import nn

from nas.cli import main
from nas.models import baseline_table
from nas.models.registry import MODELS, get_model, list_models, register_baseline
from nas.recorded_baselines import read_recorded_rows
from baseline_counts import our_macs, our_params

RECORDED = {row.name: row for row in read_recorded_rows()}
FEW = ["lenet5", "resnet20", "shufflenet_v1_g1", "densenet40"]  # quick to build; shufflenet has published MACs


def _check_counts(name: str) -> None:
    spec, row = get_model(name), RECORDED[name]
    assert row.params == our_params(spec), f"{name}: recorded params are stale; run `nas baselines --recount`"
    if spec.published_macs is not None:
        assert row.macs == our_macs(spec), f"{name}: recorded MACs are stale; run `nas baselines --recount`"


@pytest.mark.parametrize("name", FEW)
def test_recorded_counts_match_freshly_built_networks(name):
    _check_counts(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_every_recorded_count_matches_its_freshly_built_network(name):
    _check_counts(name)


def test_recorded_table_has_every_baseline_with_the_registrys_figures_in_printed_order():
    specs = list_models("baseline")
    specs.sort(key=lambda spec: spec.scale != "CIFAR")
    assert list(RECORDED) == [spec.name for spec in specs]
    for spec in specs:
        row = RECORDED[spec.name]
        assert (row.scale, row.published, row.source, row.paper, row.description, row.published_macs,
                row.published_text, row.published_macs_text) == (
            spec.scale, spec.published_params, spec.source, spec.paper, spec.description, spec.published_macs,
            spec.published_text, spec.published_macs_text), spec.name
        assert (row.macs is not None) == (spec.published_macs is not None), spec.name


def test_nas_baselines_prints_the_table_without_importing_torch():
    script = ("import contextlib, io, sys\nfrom nas.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()) as out: code = main(['baselines'])\n"
              "print(code, 'torch' in sys.modules, len(out.getvalue().splitlines()))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "False", str(len(RECORDED) + 1)]


def test_recount_builds_the_networks_and_records_their_counts(tmp_path, monkeypatch, capsys):
    table = tmp_path / "baseline_table.csv"
    monkeypatch.setattr("nas.cli.baselines_command.RECORDED_TABLE", table)
    count_all = baseline_table.counted_rows
    monkeypatch.setattr(baseline_table, "counted_rows", lambda: count_all(["resnet20"]))  # one network, not 78
    assert main(["baselines", "--recount"]) == 0
    assert "resnet20" in capsys.readouterr().out
    assert read_recorded_rows(table) == [RECORDED["resnet20"]]


def test_a_users_baseline_missing_from_the_file_is_built_and_counted(capsys):
    with MODELS.restored_afterwards():
        register_baseline("tiny_user_net", lambda classes, channels: nn.Conv2d(channels, classes, 3),
                          paper="a user", image_size=32)
        assert main(["baselines", "--scale", "CIFAR"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("tiny_user_net "))
    assert line.split()[2] == "0.3K" and line.endswith("a user")  # 3*10*3*3 weights + 10 biases: 280
