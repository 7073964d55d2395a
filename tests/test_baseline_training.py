"""`nas train --baseline NAME` on a few hundred shared CIFAR-10 images for every CIFAR-scale baseline, and the
one-line errors for an unknown name or a CIFAR network asked to train on ImageNet-size images."""

import json
import os

import pytest

from nas.cli import main
from nas.models.registry import list_models

CIFAR = [spec.name for spec in list_models("baseline") if spec.scale == "CIFAR"]
# Minutes each on a shared 2-core CPU (over 10M parameters, or over 300 layers): still trained, as slow tests, on
# fewer images.
HEAVY = {"resnet1202", "preact_resnet1001", "densenet_bc250", "densenet_bc190", "wide_resnet28_10",
         "resnext29_8x64d", "resnext29_16x64d", "sknet29", "fractalnet20", "condensenet182"}


def cifar10_folder() -> str:
    folder = os.environ.get("NAS_CIFAR10_DIR")
    if not folder:
        pytest.skip("NAS_CIFAR10_DIR is not set")
    return folder


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) for name in CIFAR])
def test_nas_train_trains_every_cifar_baseline(name, tmp_path, capsys):
    subset, batch = (48, 8) if name in HEAVY else (192, 16)
    out = tmp_path / name
    argv = ["train", "--baseline", name, "--data", cifar10_folder(), "--dataset", "cifar10", "--epochs", "1",
            "--batch-size", str(batch), "--subset", str(subset), "--val-size", "16", "--no-progress",
            "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["model"]["baseline"] == name
    assert metrics["dataset"]["train"] + metrics["dataset"]["val"] == subset and metrics["params"] > 0
    assert metrics["history"][0]["train_loss"] > 0


def one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_unknown_baseline_is_one_line_and_exit_2(tmp_path, capsys):
    for command in (["train", "--data", str(tmp_path), "--out", str(tmp_path / "out")], ["profile"]):
        assert main([*command, "--baseline", "resnet57"]) == 2
        assert "unknown baseline 'resnet57'" in one_line_error(capsys)


def test_cifar_network_on_imagenet_size_images_is_one_line_and_exit_2(tmp_path, capsys):
    from search_fixtures import make_image_folder

    data = make_image_folder(tmp_path / "data", per_class=2, test_per_class=1, size=96)
    argv = ["train", "--baseline", "wide_resnet28_10", "--data", str(data), "--epochs", "1", "--no-progress",
            "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    line = one_line_error(capsys)
    assert "wide_resnet28_10 is a CIFAR network" in line and "96 px" in line
    assert not (tmp_path / "out" / "checkpoint.pt").exists()
