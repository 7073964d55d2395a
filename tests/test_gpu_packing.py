"""Choosing how many candidates share a GPU (issue 10): the decision from probe figures, and the probe on a CPU."""

import torch
from torch import nn

from nas.train.gpu_packing import choose_gpu_fraction, share_from_probe
from nas.train.graph_step import EagerRunner

GIB = 1 << 30


def test_batch_scaling_sets_the_share_while_each_doubling_pays():
    rates = {1: 1000.0, 2: 1900.0, 4: 3500.0, 8: 3700.0}  # 8x buys little over 4x
    share = share_from_probe(rates, peak_bytes=GIB, total_bytes=80 * GIB, mps=True)
    assert share.trials_per_gpu == 4 and share.fraction == 0.25


def test_a_gpu_already_full_at_one_batch_gets_one_candidate():
    share = share_from_probe({1: 1000.0, 2: 1050.0}, peak_bytes=GIB, total_bytes=80 * GIB, mps=True)
    assert share.trials_per_gpu == 1 and share.fraction == 1.0


def test_memory_and_missing_mps_cap_the_share():
    rates = {1: 1000.0, 2: 2000.0, 4: 4000.0, 8: 8000.0}
    assert share_from_probe(rates, peak_bytes=30 * GIB, total_bytes=80 * GIB, mps=True).trials_per_gpu == 2
    capped = share_from_probe(rates, peak_bytes=GIB, total_bytes=80 * GIB, mps=False)
    assert capped.trials_per_gpu == 2 and "no MPS" in capped.reason


def test_the_probe_runs_on_copies_and_returns_a_share():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    criterion = nn.CrossEntropyLoss()
    share = choose_gpu_fraction(
        model, lambda parameters: torch.optim.SGD(parameters, lr=0.1, momentum=0.9),
        lambda network: (lambda x, y: (criterion(network(x), y), network(x))),
        batch_shape=(4, 3, 6, 6), num_classes=3, device="cpu", mps=True, replays=2, runner_factory=EagerRunner)
    assert share.trials_per_gpu in (1, 2, 4, 8) and 1 in share.images_per_sec
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
