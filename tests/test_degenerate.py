"""Results that are no results (issue 20): degenerate accuracies flagged, batch-norm recalibration before
evaluating, and a class-balanced test subset."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from torch import nn

from nas.cli import main as cli_main
from nas.data import make_splits
from nas.errors import ConfigError, DataError
from nas.evaluation.campaign_folder import CampaignPaths
from nas.evaluation.campaign_summary import readable_summary, write_summary
from nas.evaluation.jobs import JobRecord, JobTable
from nas.search.trial_store import TrialRecord, TrialStore
from nas.train import TrainResult, load_recipe, train
from nas.train.bn_recalibration import recalibrate_batch_norm
from nas.train.degenerate import degenerate_reason, record_degenerate_reason
from search_fixtures import learnable_dataset
from test_train import QUICK, TinyNet, write_tree

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")


# --- what is degenerate ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("accuracy, classes, share, images, reason", [
    (0.10, 10, 1.0, 10_000, "one class predicted (100% of images)"),
    (0.60, 2, 0.95, None, "one class predicted (95% of images)"),
    (0.115, 10, 0.3, 10_000, "chance level (11.50% with 10 classes)"),
    (0.13, 10, 0.3, 10_000, ""),
    (0.5025, 2, 0.6, 10_000, "chance level (50.25% with 2 classes)"),  # the shipped "from scratch" run
    (0.53, 2, 0.6, 10_000, ""),
    (0.53, 2, 0.6, 1_000, "chance level (53.00% with 2 classes)"),  # 3 standard errors on 1,000 images: 4.7 points
    (0.05, 10, 0.2, None, "chance level (5.00% with 10 classes)"),  # below chance is no better
    (0.90, 10, 0.12, 10_000, ""),
])
def test_degenerate_rules(accuracy, classes, share, images, reason):
    assert degenerate_reason(accuracy, classes, share, images) == reason


def test_records_without_the_columns_are_not_flagged():
    old_job = JobRecord("a-seed0", "a", "cell", 0, "ok", test_acc=0.1)  # no top_class_share, no num_classes
    assert record_degenerate_reason(old_job) == ""
    assert record_degenerate_reason({"test_acc": 0.1, "num_classes": float("nan"), "top_class_share": pd.NA}) == ""
    assert record_degenerate_reason({"val_acc": 0.1}) == ""
    trial = TrialRecord(trial_id="t", token=1, sampler="random", genotype="g", hash="h", choices=[], status="ok",
                        val_acc=0.26, top_class_share=0.4, num_classes=4)
    assert record_degenerate_reason(trial) == "chance level (26.00% with 4 classes)"
    row = pd.Series({"test_acc": 0.5, "test_images": 10_000, "num_classes": 2, "top_class_share": 1.0})
    assert record_degenerate_reason(row) == "one class predicted (100% of images)"


# --- the trainer records the prediction share ------------------------------------------------------------------

def test_training_records_the_top_class_share_and_flags_one_class():
    dataset = learnable_dataset()
    splits = make_splits(dataset, purpose="final", val_size=80, test_subset=40)
    torch.manual_seed(0)
    learnt = train(TinyNet(), splits, load_recipe("proxy", {**QUICK, "epochs": 3}), eval_test=True, progress=False)
    assert learnt.num_classes == 4 and learnt.test_images == 40
    assert 0.2 <= learnt.val_top_class_share < 0.6 and 0.2 <= learnt.test_top_class_share < 0.6
    assert learnt.history[-1].val_top_class_share == learnt.val_top_class_share
    assert learnt.degenerate_reason() == ""

    collapsed = TinyNet()
    with torch.no_grad():
        collapsed.classifier.bias.copy_(torch.tensor([0.0, 0.0, 1e4, 0.0]))  # class 2 wins whatever the image
    result = train(collapsed, splits, load_recipe("proxy", {**QUICK, "epochs": 1, "lr": 1e-9}), eval_test=True,
                   progress=False)
    assert result.val_top_class_share == result.test_top_class_share == 1.0
    assert result.degenerate_reason() == "one class predicted (100% of images)"


# --- batch-norm recalibration ----------------------------------------------------------------------------------

class TwoNorms(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.BatchNorm2d(3), nn.BatchNorm2d(3)

    def forward(self, x):
        return self.second(self.first(x))


def test_recalibration_averages_the_given_batches_and_restores_the_module():
    torch.manual_seed(0)
    batches = [(torch.randn(8, 3, 4, 4) * 2 + shift, torch.zeros(8)) for shift in (1.0, 3.0, 100.0)]
    model = TwoNorms().eval()
    model.first.running_mean.fill_(50.0)  # stale statistics
    frozen_before = model.second.running_mean.clone().fill_(7.0)
    model.second.running_mean.copy_(frozen_before)
    assert recalibrate_batch_norm(model, batches, 2, device="cpu", frozen=[model.second]) == 1
    expected = torch.stack([inputs.mean((0, 2, 3)) for inputs, _ in batches[:2]]).mean(0)  # cumulative average
    assert torch.allclose(model.first.running_mean, expected, atol=1e-5)
    assert int(model.first.num_batches_tracked) == 2 and model.first.momentum == 0.1
    assert torch.equal(model.second.running_mean, frozen_before)  # a frozen stage keeps its statistics
    assert not model.training
    assert recalibrate_batch_norm(model, batches, 0, device="cpu") == 0


def test_trainer_recalibrates_before_evaluating_only_when_the_recipe_asks():
    splits = make_splits(learnable_dataset(), val_size=80)
    models = {}
    for batches in (0, 3):
        torch.manual_seed(0)
        models[batches] = TinyNet()
        result = train(models[batches], splits, load_recipe("proxy", {**QUICK, "bn_recalibration_batches": batches}),
                       seed=1, progress=False)
        assert result.status == "ok" and result.val_acc is not None
    off, on = (dict(models[b].named_buffers()) for b in (0, 3))
    assert int(off["features.1.num_batches_tracked"]) == 2 * (240 // 16)  # every training step
    assert int(on["features.1.num_batches_tracked"]) == 3  # reset, then the 3 recalibration batches
    assert torch.equal(models[0].features[0].weight, models[3].features[0].weight)  # training itself is the same


def test_recipe_key_is_checked_and_the_proxy_recipe_sets_it():
    assert load_recipe("full").bn_recalibration_batches == 0
    assert load_recipe("proxy").bn_recalibration_batches >= 0
    with pytest.raises(ConfigError, match="bn_recalibration_batches must be >= 0"):
        load_recipe("proxy", {"bn_recalibration_batches": -1})


def test_a_checkpoint_from_before_the_key_still_resumes(tmp_path):
    splits = make_splits(learnable_dataset(), val_size=80)
    checkpoint = tmp_path / "checkpoint.pt"
    quick = load_recipe("proxy", {**QUICK, "bn_recalibration_batches": 0})
    train(TinyNet(), splits, quick, checkpoint_path=checkpoint, progress=False,
          on_epoch=lambda metrics: metrics.epoch == 1)
    state = torch.load(checkpoint, weights_only=True)
    del state["recipe"]["bn_recalibration_batches"]  # as written before the key existed
    torch.save(state, checkpoint)
    assert train(TinyNet(), splits, quick, checkpoint_path=checkpoint, progress=False).epochs_completed == 2


# --- the test subset -------------------------------------------------------------------------------------------

def test_test_subset_is_class_balanced_and_leaves_the_training_split_alone():
    dataset = learnable_dataset()
    whole = make_splits(dataset, purpose="final", val_size=80, seed=3)
    part = make_splits(dataset, purpose="final", val_size=80, seed=3, test_subset=40)
    assert len(whole.test) == 80 and len(part.test) == 40
    assert torch.bincount(part.test.labels).tolist() == [10, 10, 10, 10]
    assert torch.equal(whole.train.labels, part.train.labels) and torch.equal(whole.val.labels, part.val.labels)
    with pytest.raises(DataError, match="test subset 81 must be between 8 .two per class. and the 80 test images"):
        make_splits(dataset, purpose="final", test_subset=81)


def test_nas_train_test_subset_is_recorded(tmp_path, capsys):
    data = write_tree(tmp_path / "data")
    out = tmp_path / "out"
    argv = ["train", "--baseline", "resnet20", "--data", str(data), "--epochs", "1", "--batch-size", "8",
            "--cache-dir", str(tmp_path / "cache"), "--eval-test", "--test-subset", "6", "--no-progress",
            "--out", str(out)]
    assert cli_main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_images"] == metrics["dataset"]["test"] == 6 and metrics["num_classes"] == 3
    assert 1 / 3 <= metrics["test_top_class_share"] <= 1.0 and metrics["degenerate"] == record_degenerate_reason(
        {"test_acc": metrics["test_acc"], "test_images": 6, "num_classes": 3,
         "top_class_share": metrics["test_top_class_share"]})
    capsys.readouterr()
    assert cli_main([*argv[:argv.index("--eval-test")], "--test-subset", "6", "--out", str(tmp_path / "o2")]) == 2
    assert capsys.readouterr().err.strip().endswith("--test-subset needs --eval-test: without it nothing is tested")


def test_nas_train_last_line_says_when_the_result_is_degenerate(tmp_path, capsys, monkeypatch):
    collapsed = TrainResult(status="ok", val_acc=0.3333, test_acc=0.3333, num_classes=3, test_top_class_share=1.0,
                            test_images=12)
    monkeypatch.setattr("nas.train.train", lambda *args, **kwargs: collapsed)
    data = write_tree(tmp_path / "data", per_class=4)
    assert cli_main(["train", "--baseline", "resnet20", "--data", str(data), "--cache-dir", str(tmp_path / "cache"),
                     "--eval-test", "--no-progress", "--out", str(tmp_path / "out")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("ok: val acc 0.3333, test acc 0.3333") and last.endswith(
        "— degenerate: one class predicted (100% of images)")
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["degenerate"] == last.split(": ")[-1]


# --- the records -----------------------------------------------------------------------------------------------

def test_campaign_summary_flags_degenerate_networks(tmp_path):
    table = JobTable(tmp_path)
    rows = (("scratch", 0.5025, 0.6), ("scratch", 0.50, 1.0), ("good", 0.91, 0.51), ("good", 0.92, 0.5))
    for seed, (name, accuracy, share) in enumerate(rows):
        table.append(JobRecord(f"{name}-seed{seed}", name, "cell", seed, "ok", test_acc=accuracy, test_images=10_000,
                               top_class_share=share, num_classes=2, params=1000, macs=10_000, train_time_s=1.0,
                               images_per_sec=1.0))
    table.append(JobRecord("old-seed0", "old", "cell", 0, "ok", test_acc=0.1, params=1, macs=1, train_time_s=1.0,
                           images_per_sec=1.0))  # a row from before the columns: not recorded, not flagged
    summary = write_summary(table, CampaignPaths(tmp_path), "Comparison", [])
    flags = dict(zip(summary["name"], summary["flag"]))
    assert flags == {"scratch": "chance level in 1/2 seeds; one class predicted in 1/2 seeds", "good": "",
                     "old": ""}
    assert "chance level in 1/2 seeds; one class predicted in 1/2 seeds" in CampaignPaths(tmp_path).summary_document.read_text()
    assert pd.read_csv(CampaignPaths(tmp_path).summary)["flag"].fillna("").tolist() == summary["flag"].tolist()
    old_summary = pd.read_csv(CampaignPaths(tmp_path).summary).drop(columns="flag")  # written before the column
    assert readable_summary(old_summary)["flag"].tolist() == ["", "", ""]


def test_tables_written_before_the_columns_still_load(tmp_path):
    (tmp_path / "runs.csv").write_text("job_id,name,kind,seed,status,test_acc\na-seed0,a,cell,0,ok,0.1\n")
    [job] = JobTable(tmp_path).records
    assert (job.test_images, job.top_class_share, job.num_classes) == (None, None, None)
    (tmp_path / "trials.csv").write_text("trial_id,token,sampler,genotype,hash,choices,status,val_acc\n"
                                         "t1,1,random,g,h,[],ok,0.1\n")
    [trial] = TrialStore(tmp_path).records
    assert trial.top_class_share is None and record_degenerate_reason(trial) == ""
    store = TrialStore(tmp_path / "new")
    store.append(TrialRecord(trial_id="t2", token=2, sampler="random", genotype="g", hash="h", choices=[],
                             status="ok", val_acc=0.1, top_class_share=1.0, num_classes=10))
    [again] = TrialStore(tmp_path / "new").records
    assert (again.top_class_share, again.num_classes) == (1.0, 10)


def test_a_search_started_before_the_key_resumes_with_it_set_to_off(tmp_path):
    from nas.search.experiment_config import load_experiment_config
    from nas.search.experiment_folder import SavedExperiment, check_resume_matches, space_fingerprint
    from nas.space.base import load_space
    from search_fixtures import write_config

    config = load_experiment_config(write_config(tmp_path / "c.yaml", tmp_path, tmp_path / "results"))
    space = load_space(config.space)
    old = load_recipe(config.recipe, config.recipe_overrides).to_dict()
    del old["bn_recalibration_batches"]  # as a search saved it before the key existed
    saved = SavedExperiment(config.to_dict(), old, space_fingerprint(space))
    with pytest.raises(ConfigError, match=r"it had bn_recalibration_batches: 0; recipe_overrides can set them"):
        check_resume_matches(saved, config, space, load_recipe(config.recipe, config.recipe_overrides))
    check_resume_matches(saved, config, space,
                         load_recipe(config.recipe, {**config.recipe_overrides, "bn_recalibration_batches": 0}))


def test_a_near_total_share_is_not_rounded_to_all_images():
    assert degenerate_reason(0.1, 10, 0.997) == "one class predicted (99.7% of images)"
