"""The CUDA-graph training step (issue 10): its logic runs on a CPU with EagerRunner standing in for the graph, and
must learn exactly what the plain eager path learns."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

import nas.train.graph_step as graph_step
import nas.train.trainer as trainer
from nas.data import make_splits
from nas.errors import ConfigError
from nas.models import build_model
from nas.train import load_recipe, train
from nas.train.format_probe import StepFormat, candidate_formats, fastest_format
from nas.train.graph_step import EagerRunner, GraphedTrainStep
from nas.train.step_setup import make_optimizer, use_cuda_graph
from nas.train.train_step import EagerTrainStep, TrainStep
from search_fixtures import learnable_dataset

CPU = torch.device("cpu")


def small_cell_network(auxiliary: bool, drop_path: float) -> nn.Module:
    torch.manual_seed(0)
    return build_model(genotype="darts-v2", channels=4, cells=3, num_classes=4, image_size=8,
                       auxiliary=auxiliary, drop_path=drop_path)


def train_once(monkeypatch, *, graph: bool, **overrides):
    """train() on the plain path, or through GraphedTrainStep with EagerRunner in the graph's place."""
    if graph:
        monkeypatch.setattr(trainer, "use_cuda_graph", lambda recipe, device, model=None: True)
        monkeypatch.setattr(graph_step, "CudaGraphRunner", EagerRunner)
    recipe = load_recipe("proxy", {"epochs": 3, "batch_size": 24, "eval_batch_size": 64, "lr": 0.1,
                                   "warmup_epochs": 0.5, "tune_format": False, **overrides})
    splits = make_splits(learnable_dataset(count=200, noise=25.0), purpose="search", val_size=40, seed=0)
    model = small_cell_network(recipe.auxiliary_weight > 0, recipe.drop_path)
    result = train(model, splits, recipe, device="cpu", seed=3, progress=False)
    monkeypatch.undo()
    return result, model


@pytest.mark.parametrize("overrides", [
    {},  # the proxy: no drop-path, one capture for the run
    {"drop_path": 0.3, "auxiliary_weight": 0.4, "cutout": 4},  # the full recipe's paths: a capture per epoch
], ids=["proxy", "drop-path+aux"])
def test_graph_path_learns_what_the_plain_path_learns(monkeypatch, overrides):
    plain, plain_model = train_once(monkeypatch, graph=False, **overrides)
    graphed, graphed_model = train_once(monkeypatch, graph=True, **overrides)
    assert graphed.history[0].step.startswith("cuda graph")
    assert plain.history[0].step.startswith("eager")
    assert [h.val_acc for h in graphed.history] == [h.val_acc for h in plain.history]
    for (name, a), b in zip(plain_model.state_dict().items(), graphed_model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-5), name
    # the run actually moved away from its initial weights, so the comparison means something
    initial = small_cell_network(overrides.get("auxiliary_weight", 0) > 0, overrides.get("drop_path", 0.0))
    assert not torch.allclose(initial.classifier.weight, graphed_model.classifier.weight)


def make_step(model, lr=0.05):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-3,
                                fused=True)
    criterion = nn.CrossEntropyLoss()

    def loss_function(inputs, labels):
        logits = model(inputs)
        return criterion(logits, labels), logits

    return TrainStep(model, optimizer, loss_function, grad_clip=1.0, bf16=False, device=CPU), optimizer


def tiny_net():
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(6, 3))


def batches(sizes):
    generator = torch.Generator().manual_seed(5)
    return [(torch.randn(n, 3, 6, 6, generator=generator), torch.randint(0, 3, (n,), generator=generator))
            for n in sizes]


def test_a_batch_of_another_shape_runs_eagerly_between_replays_and_the_schedule_still_applies():
    sizes = [8, 8, 8, 8, 5, 8, 8]  # warm-up x2, capture + replay, replay, odd batch (eager), replays
    eager_model, graphed_model = tiny_net(), tiny_net()
    eager_step, eager_optimizer = make_step(eager_model)
    graphed_step, graphed_optimizer = make_step(graphed_model)
    eager, graphed = EagerTrainStep(eager_step), GraphedTrainStep(graphed_step, runner_factory=EagerRunner,
                                                                  warmup_steps=2)
    for step, (inputs, labels) in enumerate(batches(sizes)):
        for optimizer in (eager_optimizer, graphed_optimizer):
            optimizer.param_groups[0]["lr"] = 0.05 / (step + 1)  # what the scheduler does between steps
        eager(inputs, labels)
        graphed(inputs, labels)
    assert graphed.captures == 1 and not graphed.failed
    assert isinstance(graphed_optimizer.param_groups[0]["lr"], float)  # the tensor is lent only for the step
    for a, b in zip(eager_model.parameters(), graphed_model.parameters()):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    assert torch.allclose(eager_step.loss_sum, graphed_step.loss_sum)
    assert int(eager_step.correct) == int(graphed_step.correct)


def test_a_new_capture_key_recaptures_and_the_same_key_does_not():
    step, _ = make_step(tiny_net())
    graphed = GraphedTrainStep(step, runner_factory=EagerRunner, warmup_steps=1)
    for key in (0.0, 0.0, 0.1):
        graphed.start_epoch(capture_key=key)
        for inputs, labels in batches([4, 4, 4]):
            graphed(inputs, labels)
    assert graphed.captures == 2


def test_a_failed_capture_falls_back_to_eager_training_with_a_log_line(caplog):
    def refuses(run, zero_grads):
        raise RuntimeError("operation not permitted when stream is capturing")

    model = tiny_net()
    step, _ = make_step(model)
    graphed = GraphedTrainStep(step, runner_factory=refuses, warmup_steps=1)
    before = [p.detach().clone() for p in model.parameters()]
    with caplog.at_level(logging.WARNING, logger="nas.train"):
        for inputs, labels in batches([4, 4, 4, 4]):
            graphed(inputs, labels)
    assert graphed.failed and graphed.description.startswith("eager")
    assert "CUDA graph capture failed" in caplog.text
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()) if a.dim() > 1)


def test_the_format_probe_trains_copies_only_and_caches_its_choice():
    model = tiny_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    criterion = nn.CrossEntropyLoss()

    def loss_for(network):
        return lambda inputs, labels: (criterion(network(inputs), labels), network(inputs))

    def optimizer_for(parameters):
        return torch.optim.SGD(parameters, lr=0.1, momentum=0.9, fused=True)

    options = dict(batch_shape=(4, 3, 6, 6), num_classes=3, grad_clip=1.0, allow_bf16=False, device=CPU,
                   cache_key=("test", 1), runner_factory=EagerRunner)
    best, timings = fastest_format(model, optimizer_for, loss_for, **options)
    assert best in candidate_formats(allow_bf16=False) and not best.bf16
    assert set(timings) == {str(f) for f in candidate_formats(allow_bf16=False)}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    again, timings_again = fastest_format(model, optimizer_for, loss_for, **options)
    assert again == best and timings_again == {}  # cached: no second probe


def test_formats_offered_follow_the_recipe_bf16_setting():
    assert StepFormat(True, True) in candidate_formats(allow_bf16=True)
    assert all(not f.bf16 for f in candidate_formats(allow_bf16=False))


def test_cuda_graph_setting_is_checked():
    assert load_recipe("proxy", {"cuda_graph": True}).cuda_graph == "on"  # YAML reads a bare `on` as true
    assert load_recipe("proxy", {"cuda_graph": False}).cuda_graph == "off"
    with pytest.raises(ConfigError, match="cuda_graph must be auto, on or off"):
        load_recipe("proxy", {"cuda_graph": "sometimes"})
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        use_cuda_graph(load_recipe("proxy", {"cuda_graph": "on"}), CPU)
    assert use_cuda_graph(load_recipe("proxy"), CPU) is False  # auto on a CPU: eager
    assert make_optimizer(tiny_net().parameters(), load_recipe("proxy"), graph=False).defaults["fused"] is None


def test_the_captured_step_only_reads_the_learning_rate_tensor():
    """A write to it inside the captured region would replay the capture-time rate at every step."""
    step, optimizer = make_step(tiny_net())
    writes_during_step = []

    class WatchingRunner(EagerRunner):
        def replay(self):
            before = [t._version for t in graphed.lr_tensors]
            super().replay()
            writes_during_step.append([t._version for t in graphed.lr_tensors] != before)

    graphed = GraphedTrainStep(step, runner_factory=WatchingRunner, warmup_steps=1)
    for index, (inputs, labels) in enumerate(batches([4, 4, 4, 4])):
        optimizer.param_groups[0]["lr"] = 0.1 / (index + 1)
        graphed(inputs, labels)
    assert writes_during_step == [False, False, False]
    assert graphed.lr_tensors[0].item() == pytest.approx(0.1 / 4)  # filled from the schedule before the replay
