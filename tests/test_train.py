"""Recipes, the trainer, checkpoints and `nas train` (issue #3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from nas.cli import main as cli_main
from nas.data import make_splits
from nas.errors import ConfigError, DataError
from nas.models.trainable import TrainableNetwork, TrainingOutput
from nas.train import Recipe, TrainResult, load_recipe, train
from nas.train.checkpoint import load_checkpoint
from nas.train.schedule import warmup_cosine
from search_fixtures import learnable_dataset

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")




QUICK = {"epochs": 2, "batch_size": 16, "eval_batch_size": 64, "lr": 0.1, "warmup_epochs": 0.5}


class TinyNet(TrainableNetwork):
    def __init__(self, classes: int = 4, auxiliary: bool = False):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(8, classes)
        self.auxiliary_head = nn.Linear(8, classes) if auxiliary else None
        self.drop_path_prob = 0.0
        self.seen_drop_path: list[float] = []

    def set_drop_path(self, probability):
        self.drop_path_prob = probability

    def forward(self, x):
        return self.forward_train(x).logits

    def forward_train(self, x):
        if self.training:
            self.seen_drop_path.append(self.drop_path_prob)
        features = self.features(x)
        aux_logits = self.auxiliary_head(features) if self.training and self.auxiliary_head is not None else None
        return TrainingOutput(self.classifier(features), aux_logits)


class NanNet(TinyNet):
    def forward_train(self, x):
        output = super().forward_train(x)
        return TrainingOutput(output.logits * float("nan"), output.aux_logits)


def recipe(**overrides) -> Recipe:
    return load_recipe("proxy", {**QUICK, **overrides})


# --- recipes ---------------------------------------------------------------------------------------------------

def test_full_recipe_is_the_darts_cifar_recipe():
    full = load_recipe("full")
    assert (full.epochs, full.batch_size, full.lr, full.momentum, full.weight_decay) == (600, 96, 0.025, 0.9, 3e-4)
    assert (full.grad_clip, full.drop_path, full.auxiliary_weight, full.cutout) == (5.0, 0.2, 0.4, 16)
    assert (full.channels, full.cells) == (36, 20)
    proxy = load_recipe("proxy")
    assert proxy.epochs <= 3 and (proxy.channels, proxy.cells) == (16, 8)


def test_recipe_file_and_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("epochs: 4\nlr: 0.1\nnesterov: true\n")
    mine = load_recipe(path, {"epochs": 2, "batch_size": None})
    assert (mine.name, mine.epochs, mine.lr, mine.nesterov, mine.batch_size) == ("mine", 2, 0.1, True, 128)


def test_exponent_floats_are_numbers_as_in_yaml_1_2(tmp_path):
    path = tmp_path / "mine.yaml"  # YAML 1.1 (PyYAML's) reads 1.0e6 and 3e-4 as strings
    path.write_text("lr: 1.0e6\nlr_min: 1e-6\nweight_decay: 3e-4\nlabel_smoothing: .5E-1\n")
    mine = load_recipe(path)
    assert (mine.lr, mine.lr_min, mine.weight_decay, mine.label_smoothing) == (1e6, 1e-6, 3e-4, 0.05)


def test_what_the_engine_writes_in_yaml_reads_back_the_same():
    from nas.yaml_files import dump_yaml, load_yaml_text

    document = {"hash": "12345e67", "name": "1e5", "lr": 1e-4, "big": 1.0e6, "text": "85d99401e1ece8d9"}
    assert load_yaml_text(dump_yaml(document)) == document  # strings that read as 1.2 floats are quoted


def test_overrides_accept_numpy_scalars_from_samplers():
    import numpy

    tuned = load_recipe("proxy", {"epochs": numpy.int64(2), "lr": numpy.float32(0.5), "nesterov": numpy.bool_(False)})
    assert (tuned.epochs, tuned.lr, tuned.nesterov) == (2, 0.5, False) and type(tuned.epochs) is int


@pytest.mark.parametrize("text, overrides, message", [
    ("epochs: 2\nlearning_rate: 0.1\n", None, "unknown key 'learning_rate'"),
    ("epochs: 2\n", {"momentun": 0.9}, "unknown key 'momentun'"),
    ("epochs: 0\n", None, "epochs must be at least 1"),
    ("epochs: 2\n", {"epochs": 0}, "epochs must be at least 1"),
    ("epochs: two\n", None, "'epochs' must be int"),
    ("- 1\n- 2\n", None, "mapping"),
    ("epochs: [\n", None, "not valid YAML"),
])
def test_bad_recipes_raise_config_error(tmp_path, text, overrides, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_recipe(path, overrides)


def test_unknown_recipe_name():
    with pytest.raises(ConfigError, match="unknown recipe 'fastest'.*proxy"):
        load_recipe("fastest")


def test_warmup_then_cosine_schedule():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_cosine(optimizer, total_steps=10, warmup_steps=2, lr=1.0, lr_min=0.0)
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[:3] == pytest.approx([0.5, 1.0, 1.0]) and lrs[-1] < 0.05
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:]))


# --- the trainer -----------------------------------------------------------------------------------------------

def test_training_learns_and_reports_each_epoch():
    splits = make_splits(learnable_dataset(), val_size=80, seed=0)
    torch.manual_seed(0)
    model = TinyNet()
    seen = []
    result = train(model, splits, recipe(epochs=3, drop_path=0.3), seed=0, on_epoch=seen.append, progress=False)
    assert isinstance(result, TrainResult) and result.status == "ok" and result.epochs_completed == 3
    assert [m.epoch for m in seen] == [1, 2, 3]
    assert {"train_loss", "train_acc", "val_acc", "time", "images_per_sec"} <= set(seen[0].to_dict())
    assert result.val_acc == seen[-1].val_acc > 0.6 and result.test_acc is None
    assert result.images_per_sec > 0 and result.wall_time > 0
    # each epoch's time: its training steps, then its evaluation (what a search's cost breakdown separates)
    assert all(0 < m.eval_seconds and m.train_seconds + m.eval_seconds <= m.time for m in seen)
    # drop-path ramps linearly from 0 towards the recipe's value (DARTS)
    assert sorted(set(model.seen_drop_path)) == pytest.approx([0.0, 0.1, 0.2])


def test_callback_can_stop_the_run():
    splits = make_splits(learnable_dataset(), val_size=80)
    result = train(TinyNet(), splits, recipe(epochs=3), on_epoch=lambda metrics: metrics.epoch == 1,
                   progress=False)
    assert result.status == "pruned" and result.epochs_completed == 1


def test_nan_loss_ends_the_run_as_diverged():
    splits = make_splits(learnable_dataset(), val_size=80)
    result = train(NanNet(), splits, recipe(), progress=False)
    assert result.status == "diverged" and result.val_acc is None and "nan" in result.message


def test_auxiliary_head_loss_is_used():
    """The auxiliary head learns only through its loss: with weight 0 it never moves, with 0.4 it does."""
    splits = make_splits(learnable_dataset(), val_size=80)
    for weight, moves in ((0.0, False), (0.4, True)):
        torch.manual_seed(0)
        model = TinyNet(auxiliary=True)
        before = model.auxiliary_head.weight.detach().clone()
        result = train(model, splits, recipe(epochs=1, auxiliary_weight=weight), progress=False)
        assert result.status == "ok"
        assert (not torch.equal(before, model.auxiliary_head.weight)) == moves, weight


def test_checkpoint_resume_gives_the_same_weights(tmp_path):
    splits = make_splits(learnable_dataset(), val_size=80, seed=1)
    torch.manual_seed(0)
    straight = TinyNet()
    torch.manual_seed(0)
    interrupted = TinyNet()
    train(straight, splits, recipe(), seed=4, progress=False)

    checkpoint = tmp_path / "run" / "checkpoint.pt"
    first = train(interrupted, splits, recipe(), seed=4, checkpoint_path=checkpoint, progress=False,
                  on_epoch=lambda metrics: metrics.epoch == 1)
    assert first.status == "pruned"
    state = torch.load(checkpoint, weights_only=True)  # plain state dicts and numbers
    assert state["epoch"] == 1
    torch.manual_seed(123)
    resumed_model = TinyNet()  # fresh weights: everything must come from the checkpoint
    resumed = train(resumed_model, splits, recipe(), seed=4, checkpoint_path=checkpoint, progress=False)
    assert resumed.status == "ok" and resumed.epochs_completed == 2
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed_model.state_dict()[name]), name
    assert load_checkpoint(checkpoint)["epoch"] == 2


def test_resuming_with_another_recipe_is_refused(tmp_path):
    splits = make_splits(learnable_dataset(), val_size=80)
    checkpoint = tmp_path / "checkpoint.pt"
    train(TinyNet(), splits, recipe(epochs=1), checkpoint_path=checkpoint, progress=False)
    with pytest.raises(ConfigError, match="different recipe keys lr"):
        train(TinyNet(), splits, recipe(epochs=1, lr=0.2), checkpoint_path=checkpoint, progress=False)


def test_test_split_only_for_final_runs():
    dataset = learnable_dataset()
    with pytest.raises(ConfigError, match="search"):
        train(TinyNet(), make_splits(dataset, purpose="search", val_size=80), recipe(epochs=1), eval_test=True,
              progress=False)
    result = train(TinyNet(), make_splits(dataset, purpose="final", val_size=80), recipe(epochs=1), eval_test=True,
                   progress=False)
    assert 0.0 <= result.test_acc <= 1.0


def test_cuda_asked_without_cuda_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="CUDA"):
        train(TinyNet(), make_splits(learnable_dataset(), val_size=80), recipe(epochs=1), device="cuda",
              progress=False)


# --- nas train -------------------------------------------------------------------------------------------------

def write_tree(root: Path, per_class: int = 12, size: int = 8) -> Path:
    from torchvision.io import write_png

    for split, count in (("train", per_class), ("test", 4)):
        for label in range(3):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True)
            for i in range(count):
                image = (torch.rand(3, size, size) * 40 + 60 * label).to(torch.uint8)
                write_png(image, str(folder / f"{i}.png"))
    return root


def test_nas_train_writes_metrics_and_checkpoint(tmp_path, capsys):
    data = write_tree(tmp_path / "data")
    out = tmp_path / "out"
    argv = ["train", "--baseline", "resnet20", "--data", str(data), "--epochs", "2", "--batch-size", "8",
            "--cache-dir", str(tmp_path / "cache"), "--eval-test", "--no-progress", "--out", str(out)]
    assert cli_main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "ok" and len(metrics["history"]) == 2  # the key a campaign's metrics.json uses
    assert {"train_loss", "train_acc", "val_acc"} <= set(metrics["history"][0])
    assert metrics["test_acc"] is not None and metrics["params"] > 0 and metrics["macs"] is not None
    assert metrics["recipe"]["epochs"] == 2 and metrics["seed"] == 0 and metrics["device"].startswith("cpu")
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 2
    assert "cache written" in capsys.readouterr().out
    # The same command again would overwrite the run: refused, nothing touched.
    before = (out / "metrics.json").read_bytes()
    assert cli_main(argv) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before
    argv[argv.index("--out") + 1] = str(tmp_path / "out2")
    assert cli_main(argv) == 0
    assert "cache used" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--epochs", "0"], "epochs must be at least 1"),
    (["--recipe", "nope"], "unknown recipe"),
    (["--data-missing"], "does not exist"),
    (["--device", "tpu"], "unknown device"),
])
def test_nas_train_user_errors_exit_2(tmp_path, capsys, extra, message):
    data = write_tree(tmp_path / "data", per_class=4)
    if extra == ["--data-missing"]:
        data, extra = tmp_path / "missing", ["--dataset", "imagefolder"]
    argv = ["train", "--baseline", "resnet20", "--data", str(data), "--cache-dir", str(tmp_path / "cache"),
            "--no-progress", "--out", str(tmp_path / "out"), *extra]
    assert cli_main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1


def test_nas_train_needs_a_model(tmp_path, capsys):
    assert cli_main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "one of the arguments --genotype --baseline is required" in capsys.readouterr().err


# --- the shared CIFAR-10 copy ----------------------------------------------------------------------------------

def test_a_small_net_learns_on_real_cifar10(shared_cifar10):
    dataset = shared_cifar10
    splits = make_splits(dataset, subset=2000, val_size=500)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    result = train(model, splits, load_recipe("proxy", {"epochs": 2, "batch_size": 64}), progress=False)
    assert result.status == "ok" and result.val_acc > 0.2  # chance is 0.1


def test_large_images_train_through_the_dataloader_path(tmp_path):
    from nas.data import load_dataset

    data = write_tree(tmp_path / "data", per_class=4, size=112)
    dataset = load_dataset("imagefolder", data, cache_dir=tmp_path / "cache", progress=False)
    assert not dataset.in_memory and dataset.image_size == 112
    splits = make_splits(dataset, purpose="final", val_size=3)
    result = train(TinyNet(classes=3), splits, recipe(epochs=1, batch_size=4), eval_test=True, progress=False)
    assert result.status == "ok" and result.test_acc is not None


def test_eval_test_without_a_test_folder_is_a_data_error(tmp_path):
    from nas.data import load_dataset

    data = write_tree(tmp_path / "data", per_class=4)
    for path in sorted((data / "test").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (data / "test").rmdir()
    dataset = load_dataset("imagefolder", data, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(DataError, match="no test split"):
        train(TinyNet(classes=3), make_splits(dataset, purpose="final", val_size=3), recipe(epochs=1),
              eval_test=True, progress=False)


# --- fine-tuning ---------------------------------------------------------------------------------------------------

def test_fine_tuning_onto_other_classes_keeps_frozen_stages_fixed(tmp_path, capsys):
    from search_fixtures import make_image_folder

    from nas.models import build_model
    from nas.train.fine_tune import modules_by_stage

    source, target = make_image_folder(tmp_path / "three", classes=3), make_image_folder(tmp_path / "five", classes=5)
    common = ["--genotype", "darts-v2", "--channels", "4", "--depth", "5", "--epochs", "1", "--batch-size", "16",
              "--no-progress"]
    assert cli_main(["train", *common, "--data", str(source), "--out", str(tmp_path / "first")]) == 0
    assert cli_main(["train", *common, "--data", str(target), "--out", str(tmp_path / "tuned"), "--init",
                     str(tmp_path / "first" / "checkpoint.pt"), "--freeze-stages", "2", "--lr-backbone", "0.1"]) == 0
    assert "new for 5 classes: classifier.bias, classifier.weight" in capsys.readouterr().out
    before = load_checkpoint(tmp_path / "first" / "checkpoint.pt")["model"]
    after = load_checkpoint(tmp_path / "tuned" / "checkpoint.pt")["model"]
    assert after["classifier.weight"].shape[0] == 5
    model = build_model(genotype="darts-v2", channels=4, cells=5, num_classes=5, image_size=16)
    names = {id(module): name for name, module in model.named_modules()}
    stages = modules_by_stage(model, (3, 16, 16))
    assert len(stages) == 3  # 16, 8 and 4 px
    for stage, should_move in ((stages[0], False), (stages[1], False), (stages[2], True)):
        keys = [key for module in stage for key in after if key.rsplit(".", 1)[0] == names[id(module)]]
        moved = [key for key in keys if not torch.equal(before[key], after[key])]
        assert bool(moved) == should_move, (should_move, moved[:3])
        if not should_move:  # weights and batch-norm statistics alike
            assert not moved


def test_init_from_another_architecture_is_one_line_and_writes_nothing(tmp_path, capsys):
    from search_fixtures import make_image_folder

    data = make_image_folder(tmp_path / "data")
    assert cli_main(["train", "--baseline", "resnet20", "--data", str(data), "--epochs", "1", "--batch-size", "16",
                     "--no-progress", "--out", str(tmp_path / "resnet")]) == 0
    capsys.readouterr()
    assert cli_main(["train", "--genotype", "darts-v2", "--channels", "4", "--depth", "3", "--data", str(data),
                     "--init", str(tmp_path / "resnet" / "checkpoint.pt"), "--no-progress",
                     "--out", str(tmp_path / "cell")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "another architecture" in error
    assert not (tmp_path / "cell").exists()


def test_a_checkpoint_with_an_auxiliary_head_loads_into_networks_without_one_or_for_other_classes(tmp_path):
    """`nas transfer --recipe full` trains with the auxiliary head; fine-tuning from its checkpoint drops that head
    where the new network has none and makes the task's heads anew for another class count."""
    from nas.models import build_model
    from nas.train.checkpoint import save_checkpoint
    from nas.train.fine_tune import load_initial_weights
    from nas.train.trainer import CHECKPOINT_FORMAT

    torch.set_num_threads(1)
    tiny = {"genotype": "darts-v2", "channels": 4, "cells": 3}
    trained = build_model(**tiny, num_classes=10, auxiliary=True)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "model": trained.state_dict()})  # as the trainer writes it
    source = trained.state_dict()

    without = build_model(**tiny, num_classes=10)
    loaded = load_initial_weights(without, path)
    assert loaded.fresh == [] and len(loaded.dropped) == 14
    assert all(name.startswith("auxiliary_head.") for name in loaded.dropped)
    assert all(torch.equal(value, source[name]) for name, value in without.state_dict().items())
    assert "dropped (no such head in this network): auxiliary_head (14 weights)" in loaded.describe(10)

    other_classes = build_model(**tiny, num_classes=5, auxiliary=True)
    loaded = load_initial_weights(other_classes, path)
    assert loaded.fresh == ["auxiliary_head.classifier.bias", "auxiliary_head.classifier.weight",
                            "classifier.bias", "classifier.weight"] and loaded.dropped == []
    kept = {name: value for name, value in other_classes.state_dict().items() if name not in loaded.fresh}
    assert all(torch.equal(value, source[name]) for name, value in kept.items())


def test_init_from_another_architecture_names_the_weights_that_differ(tmp_path):
    from nas.models import build_model
    from nas.train.checkpoint import save_checkpoint
    from nas.train.fine_tune import load_initial_weights

    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, build_model(genotype="darts-v2", channels=4, cells=3, auxiliary=True).state_dict())
    with pytest.raises(ConfigError) as wider:
        load_initial_weights(build_model(genotype="darts-v2", channels=6, cells=3), path)
    assert "of another shape: stem." in str(wider.value) and "[12, 3, 3, 3] for [18, 3, 3, 3]" in str(wider.value)
    assert "auxiliary_head" not in str(wider.value)  # a task head is never the reason
    with pytest.raises(ConfigError) as deeper:
        load_initial_weights(build_model(genotype="darts-v2", channels=4, cells=4, auxiliary=True), path)
    assert "missing: cells.3." in str(deeper.value) and len(str(deeper.value).splitlines()) == 1


def test_metrics_history_reads_the_per_epoch_rows_under_either_key():
    from nas.train.result import metrics_history

    row = {"epoch": 1, "train_loss": 1.5, "train_acc": 0.4, "val_acc": 0.5}
    assert [epoch.train_loss for epoch in metrics_history({"history": [row]})] == [1.5]
    assert [epoch.val_acc for epoch in metrics_history({"epochs": [row]})] == [0.5]  # nas train before issue 20
    assert metrics_history({"epochs": 3}) == [] and metrics_history({}) == []  # a count, or nothing recorded


def test_fine_tuning_onto_as_many_other_classes_makes_the_classifier_anew(tmp_path, capsys):
    """Three classes learnt, three others to learn: the count matches, but the old classifier's rows stand for the
    old classes, so --init makes it anew (metrics.json beside the checkpoint names the classes learnt)."""
    from search_fixtures import make_image_folder

    source = make_image_folder(tmp_path / "first-three", classes=3)
    target = make_image_folder(tmp_path / "other-three", classes=3)
    for split in ("train", "test"):  # the same images under other class names: only the names differ
        for folder in sorted((target / split).iterdir()):
            folder.rename(folder.with_name(folder.name.replace("class", "kind")))
    common = ["--genotype", "darts-v2", "--channels", "4", "--depth", "3", "--epochs", "1", "--batch-size", "16",
              "--no-progress"]
    assert cli_main(["train", *common, "--data", str(source), "--out", str(tmp_path / "first")]) == 0
    assert json.loads((tmp_path / "first" / "metrics.json").read_text())["dataset"]["class_names"] == [
        "class0", "class1", "class2"]
    capsys.readouterr()
    same = ["train", *common, "--data", str(source), "--out", str(tmp_path / "same"),
            "--init", str(tmp_path / "first" / "checkpoint.pt")]
    other = ["train", *common, "--data", str(target), "--out", str(tmp_path / "other"),
             "--init", str(tmp_path / "first" / "checkpoint.pt")]
    assert cli_main(same) == 0
    assert "new for" not in capsys.readouterr().out  # the same classes: the classifier carries over
    assert cli_main(other) == 0
    assert "new for 3 classes: classifier.bias, classifier.weight" in capsys.readouterr().out
