"""Zero-cost proxies against values computed by hand or invariants their papers state, and `nas score`.

Every network here is tiny (a few weights, a few images of 8 or 16 px) and torch runs on one thread: the whole
module takes seconds on a busy CPU.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from nas.cli import main
from nas.models import build_model, count_params_and_macs
from nas.models.nasbench201_network import NasBench201Network
from nas.zero_cost import DEFAULT_VOTE_MEMBERS, PROXIES, proxy_names, register_proxy, score_built_network, score_network
from nas.zero_cost.proxies.jacob_cov import EIGENVALUE_FLOOR
from nas.zero_cost.proxies.naswot import activation_kernel, kernel_log_determinant
from nas.zero_cost.proxies.zico import zico_from_gradients
from search_fixtures import REPOSITORY, make_image_folder

EXTENSIONS = Path(__file__).resolve().parent / "extensions"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def score(network: nn.Module, inputs: torch.Tensor, proxy: str, num_classes: int = 3, targets=None):
    """One proxy's value (NaN with a reason when it failed) and the NetworkScores it came from."""
    targets = torch.arange(len(inputs)) % num_classes if targets is None else targets
    scores = score_network(network, inputs, targets, [proxy], num_classes=num_classes)
    return scores.values[proxy], scores


def tiny_cell_network(num_classes: int = 3) -> nn.Module:
    return build_model(genotype="darts-v2", channels=4, cells=3, num_classes=num_classes, image_size=8)


# --- params and macs: counted by hand --------------------------------------------------------------------------

def test_params_and_macs_of_a_small_conv_net_are_the_hand_counts():
    network = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Linear(4, 2))
    inputs = torch.randn(2, 3, 8, 8)
    params, _ = score(network, inputs, "params", num_classes=2)
    macs, _ = score(network, inputs, "macs", num_classes=2)
    assert params == (3 * 4 * 3 * 3 + 4) + (4 * 2 + 2)
    # Per image: each of 8x8x4 outputs is 3x3x3 multiply-adds; the linear layer 4x2 (biases and pooling are adds).
    assert macs == 8 * 8 * 4 * 3 * 3 * 3 + 4 * 2


# --- grad_norm and snip: the gradient of a linear model in closed form ----------------------------------------

def test_grad_norm_and_snip_of_a_linear_model_match_the_closed_form_gradient():
    torch.manual_seed(0)
    network = nn.Linear(5, 3, bias=False)
    inputs, targets = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    weights, x = network.weight.detach().double().numpy(), inputs.double().numpy()
    logits = x @ weights.T
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    # d(mean cross-entropy)/dW = (softmax - one-hot)^T x / N
    gradient = (softmax - np.eye(3)[targets.numpy()]).T @ x / len(x)
    grad_norm, _ = score(network, inputs, "grad_norm", targets=targets)
    snip, _ = score(network, inputs, "snip", targets=targets)
    assert grad_norm == pytest.approx(np.linalg.norm(gradient), rel=1e-5)
    assert snip == pytest.approx(np.abs(weights * gradient).sum(), rel=1e-5)


# --- synflow: independent of the data, a closed form on a positive chain, blind to batch-norm statistics ------

def test_synflow_of_a_linear_chain_is_the_closed_form():
    """y = W2 W1 x on x = 1 with |W|: R = 1^T |W2||W1| 1, and synflow = sum |W * dR/dW| over both layers (each
    layer's sum is R itself, so the total is 2R)."""
    torch.manual_seed(1)
    network = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 2, bias=False))
    w1, w2 = (np.abs(layer.weight.detach().double().numpy()) for layer in network)
    flow = np.ones(2) @ w2 @ w1 @ np.ones(3)
    d_w1 = np.outer(w2.T @ np.ones(2), np.ones(3))  # dR/dW1[j, i] = sum_k |W2|[k, j]
    d_w2 = np.outer(np.ones(2), w1 @ np.ones(3))  # dR/dW2[k, j] = sum_i |W1|[j, i]
    synflow, _ = score(network, torch.randn(5, 3), "synflow", num_classes=2)
    assert synflow == pytest.approx((w1 * d_w1).sum() + (w2 * d_w2).sum(), rel=1e-12)
    assert synflow == pytest.approx(2 * flow, rel=1e-12)


def conv_net_with_batch_norm() -> nn.Module:
    torch.manual_seed(2)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2),
                         nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def test_synflow_is_the_same_for_any_batch():
    network = conv_net_with_batch_norm()
    first, _ = score(network, torch.randn(4, 3, 8, 8), "synflow")
    second, _ = score(network, 100 * torch.rand(2, 3, 8, 8), "synflow")
    assert math.isfinite(first) and first > 0
    assert first == second


def test_synflow_ignores_the_batch_norm_statistics():
    network = conv_net_with_batch_norm()
    inputs = torch.randn(4, 3, 8, 8)
    before, _ = score(network, inputs, "synflow")
    network.train()
    with torch.no_grad():
        network(5 + 3 * torch.randn(16, 3, 8, 8))  # moves every running mean and variance
    for layer in network:
        if isinstance(layer, nn.BatchNorm2d):
            assert not torch.allclose(layer.running_mean, torch.zeros(4))
    after, _ = score(network, inputs, "synflow")
    assert after == before


# --- jacob_cov: networks whose input Jacobians are known -------------------------------------------------------

def correlation_score_by_hand(jacobians: np.ndarray) -> float:
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobians))
    return float(-np.sum(np.log(eigenvalues + EIGENVALUE_FLOOR) + 1 / (eigenvalues + EIGENVALUE_FLOOR)))


def test_jacob_cov_of_a_linear_layer_is_fixed_whatever_the_images():
    """Every image's Jacobian of the summed outputs is W^T 1: the correlation matrix is all ones, its eigenvalues
    N and N-1 zeros, so the score is -(log(N+k) + 1/(N+k)) - (N-1)(log k + 1/k) for any images."""
    torch.manual_seed(3)
    network, images = nn.Linear(6, 3), 5
    k = EIGENVALUE_FLOOR
    expected = -(math.log(images + k) + 1 / (images + k)) - (images - 1) * (math.log(k) + 1 / k)
    first, _ = score(network, torch.randn(images, 6), "jacob_cov")
    second, _ = score(network, 10 * torch.rand(images, 6), "jacob_cov")
    assert first == pytest.approx(expected, rel=1e-9)
    assert second == pytest.approx(expected, rel=1e-9)


class HalfSquaredNorm(nn.Module):
    """f(x) = |x|^2 / 2: the Jacobian of image x is x itself."""

    def forward(self, x):
        return 0.5 * (x ** 2).sum(dim=1, keepdim=True)


def test_jacob_cov_of_a_network_whose_jacobians_are_its_inputs_matches_numpy():
    inputs = torch.randn(4, 10, generator=torch.Generator().manual_seed(4))
    value, _ = score(HalfSquaredNorm(), inputs, "jacob_cov")
    assert value == pytest.approx(correlation_score_by_hand(inputs.double().numpy()), rel=1e-6)
    uncorrelated = -4 * (math.log(1 + EIGENVALUE_FLOOR) + 1 / (1 + EIGENVALUE_FLOOR))
    assert value < uncorrelated  # the paper's best: all eigenvalues 1


# --- NASWOT: the kernel of activation codes, its log-determinant ----------------------------------------------

def test_naswot_kernel_counts_agreeing_units_over_layers():
    """K_ij = sum over layers of (units - Hamming distance between the codes of images i and j)."""
    first = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)  # distances 2, 1, 3
    second = torch.tensor([[1, 1], [0, 1], [0, 0]], dtype=torch.bool)  # distances 1, 2, 1
    kernel = activation_kernel([first, second])
    expected = torch.tensor([[5, 2, 2], [2, 5, 1], [2, 1, 5]], dtype=torch.float64)
    assert torch.equal(kernel, expected)
    assert kernel_log_determinant(kernel) == pytest.approx(math.log(88))  # 5*24 - 2*8 + 2*(-8)
    # A code two ReLUs share (one tensor feeding both) counts twice.
    assert torch.equal(activation_kernel([first, first]), 2 * activation_kernel([first]))


def test_naswot_of_a_relu_network_is_the_log_determinant_of_its_codes():
    torch.manual_seed(5)
    network = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    inputs = torch.randn(6, 4)
    with torch.no_grad():
        codes = (network[0](inputs) > 0).double().numpy()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    value, _ = score(network, inputs, "naswot")
    assert value == pytest.approx(np.linalg.slogdet(kernel)[1], rel=1e-9)


def test_naswot_is_minus_infinity_when_two_images_share_a_code():
    torch.manual_seed(6)
    network = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    inputs = torch.randn(4, 4)
    inputs[3] = inputs[0]
    value, scores = score(network, inputs, "naswot")
    assert value == -math.inf
    assert "naswot" not in scores.reasons  # a score, the worst, not a failure


# --- ZiCo: from gradients constructed by hand -----------------------------------------------------------------

def test_zico_from_gradients_is_the_sum_of_log_inverse_coefficients_of_variation():
    """Two batches. Layer 1: g = [1, 2, 3] and [3, 2, 1]: mean |g| = 2, 2, 2 and std = 1, 0, 1, so the middle
    weight (no variation) is left out and the layer gives log(2/1 + 2/1) = log 4. Layer 2: g = [-1, 1] and [1, 3]:
    mean |g| = 1, 2, std = 1, 1: log 3. Layer 3 never varies and gives nothing."""
    tensor = torch.tensor
    per_batch = [[tensor([1.0, 2.0, 3.0]), tensor([-1.0, 1.0]), tensor([5.0])],
                 [tensor([3.0, 2.0, 1.0]), tensor([1.0, 3.0]), tensor([5.0])]]
    assert zico_from_gradients(per_batch) == pytest.approx(math.log(4) + math.log(3))


# --- scoring: determinism and failures ------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_scores_twice():
    inputs = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(7))
    targets = torch.tensor([0, 1, 2, 0])

    def scored(seed):
        return score_built_network(tiny_cell_network, inputs, targets, proxy_names(), num_classes=3, seed=seed)

    first, second, other = scored(0), scored(0), scored(1)
    assert not first.reasons, first.reasons
    assert first.values == second.values
    assert other.values["synflow"] != first.values["synflow"]  # the seed does pick the initial weights


def test_a_proxy_that_raises_is_nan_with_its_reason_and_the_others_still_score():
    with PROXIES.restored_afterwards():
        @register_proxy("always_fails")
        def always_fails(probe):
            raise RuntimeError("no way to score this")

        register_proxy("not_a_number", lambda probe: math.nan)
        scores = score_network(nn.Linear(4, 3), torch.randn(4, 4), torch.tensor([0, 1, 2, 0]),
                               ["params", "always_fails", "not_a_number"], num_classes=3)
    assert scores.values["params"] == 15
    assert math.isnan(scores.values["always_fails"]) and math.isnan(scores.values["not_a_number"])
    assert scores.reasons["always_fails"] == "always_fails: RuntimeError: no way to score this"
    assert "the score is nan" in scores.reasons["not_a_number"]
    assert set(scores.seconds) == {"params", "always_fails", "not_a_number"}


def test_naswot_of_a_network_without_relu_is_nan_with_a_reason():
    value, scores = score(nn.Linear(4, 3), torch.randn(4, 4), "naswot")
    assert math.isnan(value) and "has no nn.ReLU" in scores.reasons["naswot"]


# --- nas score ------------------------------------------------------------------------------------------------

TINY = ("--batch-size", "8", "--channels", "4", "--depth", "3", "--no-progress")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("score-data"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CACHE_DIR", str(tmp_path / "cache"))


def test_nas_score_writes_a_row_per_network_with_every_proxy_and_the_vote(images, tmp_path, capsys, cache):
    out = tmp_path / "scores.csv"
    assert main(["score", "--genotype", "darts-v2", "--baseline", "resnet20", "--data", str(images), *TINY,
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(table["name"]) == ["darts-v2", "resnet20"]
    for proxy in proxy_names():
        assert table[proxy].notna().all() and (table[f"{proxy}_s"] >= 0).all(), proxy
    assert table["reasons"].isna().all()
    cell = build_model(genotype="darts-v2", channels=4, cells=3, num_classes=3, image_size=16)
    assert table.loc[0, "params"] == count_params_and_macs(cell, (3, 16, 16))["params"]
    ranks = table[list(DEFAULT_VOTE_MEMBERS)].rank(pct=True)  # of two networks: 1.0 the better, 0.5 the other
    assert list(table["vote"]) == pytest.approx(list(ranks.mean(axis=1)))
    assert any(line.startswith("darts-v2 ") for line in printed.splitlines())
    assert any(line.startswith("resnet20 ") for line in printed.splitlines())
    assert f"wrote {out} (2 rows)" in printed


def test_nas_score_draws_the_same_cells_and_scores_for_a_seed(images, tmp_path, capsys, cache):
    def scored(seed: int, name: str) -> pd.DataFrame:
        out = tmp_path / name
        assert main(["score", "--space", str(REPOSITORY / "search_spaces" / "tiny.yaml"), "--sample", "3",
                     "--seed", str(seed), "--proxies", "naswot,synflow", "--data", str(images), *TINY,
                     "--out", str(out)]) == 0
        return pd.read_csv(out).drop(columns=[column for column in pd.read_csv(out) if column.endswith("_s")])

    first, again, other = scored(1, "a.csv"), scored(1, "b.csv"), scored(2, "c.csv")
    assert len(set(first["key"])) == 3 and list(first["name"]) == ["sample-1", "sample-2", "sample-3"]
    pd.testing.assert_frame_equal(first, again)
    assert set(other["key"]) != set(first["key"])
    assert "vote" not in first  # zico, a member of the vote, was not asked for


def test_a_proxy_that_cannot_score_a_network_is_an_empty_value_and_a_line(images, tmp_path, capsys, cache):
    out = tmp_path / "scores.csv"
    with PROXIES.restored_afterwards():
        @register_proxy("fussy")
        def fussy(probe):
            raise ValueError("cells are not my thing")

        assert main(["score", "--genotype", "darts-v2", "--proxies", "fussy,synflow", "--data", str(images), *TINY,
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    row = pd.read_csv(out, keep_default_na=False, na_values=[""]).iloc[0]
    assert math.isnan(row["fussy"]) and row["synflow"] > 0
    assert row["reasons"] == "fussy: ValueError: cells are not my thing"
    assert "could not score darts-v2: fussy: ValueError: cells are not my thing" in printed


@pytest.fixture
def extension_proxies(monkeypatch):
    """tests/extensions on the import path; the proxy registry and the modules imported from there restored."""
    monkeypatch.syspath_prepend(str(EXTENSIONS))
    before = set(sys.modules)
    with PROXIES.restored_afterwards():
        yield monkeypatch
    for name in set(sys.modules) - before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(EXTENSIONS)):
            del sys.modules[name]


def test_a_proxy_registered_outside_nas_is_scored_by_name(extension_proxies, images, tmp_path, capsys, cache):
    extension_proxies.setenv("NAS_IMPORT", "count_proxy")
    out = tmp_path / "scores.csv"
    assert main(["score", "--baseline", "resnet20", "--proxies", "batch_images", "--data", str(images), *TINY,
                 "--out", str(out)]) == 0
    assert pd.read_csv(out).loc[0, "batch_images"] == 8


def test_the_parser_default_batch_is_the_scoring_default():
    from nas.cli.score_command import DEFAULT_BATCH
    from nas.zero_cost import DEFAULT_BATCH_SIZE

    assert DEFAULT_BATCH == DEFAULT_BATCH_SIZE


def test_nas_score_names_a_genotype_file_by_its_stem_and_inline_text_by_its_hash(images, tmp_path, capsys, cache):
    from nas.space.genotype import Genotype

    text = "normal: add(sep_conv_3x3@0, skip_connect@1) | reduce: add(max_pool_3x3@0, max_pool_3x3@1)"
    (tmp_path / "mycell.txt").write_text(text + "\n")
    out = tmp_path / "scores.csv"
    assert main(["score", "--genotype", str(tmp_path / "mycell.txt"), text, "--proxies", "synflow",
                 "--data", str(images), *TINY, "--out", str(out)]) == 0
    table = pd.read_csv(out)
    genotype = Genotype.parse(text)
    assert list(table["name"]) == ["mycell", f"cell-{genotype.hash()[:8]}"]
    assert list(table["key"]) == [str(genotype)] * 2
    assert table.loc[0, "synflow"] == table.loc[1, "synflow"]  # one network, however it was written


def test_ctrl_c_during_nas_score_writes_the_networks_scored_so_far(images, tmp_path, capsys, cache, monkeypatch):
    import nas.zero_cost

    real, calls = nas.zero_cost.score_built_network, []

    def interrupted_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(nas.zero_cost, "score_built_network", interrupted_on_the_second)
    out = tmp_path / "scores.csv"
    assert main(["score", "--baseline", "resnet20", "resnet32", "resnet44", "--proxies", "synflow",
                 "--data", str(images), *TINY, "--out", str(out)]) == 130
    error = capsys.readouterr().err
    assert error == f"nas score: interrupted: after 1 of 3 networks; the scores of 1 network are in {out}\n"
    assert list(pd.read_csv(out)["name"]) == ["resnet20"]


def test_nas_score_scores_the_first_images_of_the_search_split_as_a_search_builds_the_network(images, tmp_path,
                                                                                                capsys, cache):
    from nas.data import load_dataset, make_splits
    from nas.train import load_recipe
    from nas.train.network_for_data import network_for_data
    from nas.zero_cost.batch import proxy_batch

    out = tmp_path / "scores.csv"
    assert main(["score", "--genotype", "darts-v2", "--proxies", "naswot,grad_norm", "--seed", "3",
                 "--data", str(images), *TINY, "--out", str(out)]) == 0
    splits = make_splits(load_dataset("imagefolder", images, progress=False), purpose="search", seed=3)
    inputs, targets = proxy_batch(splits, 8)
    recipe = load_recipe("proxy", {"channels": 4, "cells": 3})

    def build():
        return network_for_data(recipe=recipe, genotype="darts-v2", num_classes=3, in_channels=3, image_size=16,
                                seed=3)

    expected = score_built_network(build, inputs, targets, ["naswot", "grad_norm"], num_classes=3, seed=3)
    row = pd.read_csv(out).iloc[0]
    assert (row["naswot"], row["grad_norm"]) == (expected.values["naswot"], expected.values["grad_norm"])


def test_nas_score_scores_every_distinct_cell_of_a_space_smaller_than_the_sample(images, tmp_path, capsys, cache):
    """One block of skip_connect: 16 decision vectors, 9 distinct cells (input pairs 0,1 and 1,0 are one cell)."""
    space = tmp_path / "one.yaml"
    space.write_text("name: one\nblocks: 1\nops: [skip_connect]\n")
    out = tmp_path / "scores.csv"
    assert main(["score", "--space", str(space), "--sample", "12", "--proxies", "synflow", "--data", str(images),
                 *TINY, "--out", str(out)]) == 0
    assert "space one: 9 distinct cells found in 1200 draws, not the 12 asked for" in capsys.readouterr().out
    assert pd.read_csv(out)["key"].nunique() == 9


def test_nas_score_builds_a_nasbench201_string_as_the_benchmarks_network(images, tmp_path, capsys, cache):
    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|"
    out = tmp_path / "scores.csv"
    assert main(["score", "--genotype", arch, "--proxies", "synflow", "--data", str(images), *TINY,
                 "--out", str(out)]) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["key"] == arch and row["name"].startswith("nb201-")
    assert row["params"] == count_params_and_macs(NasBench201Network(arch, num_classes=3), (3, 16, 16))["params"]
    assert main(["score", "--genotype", "|nor_conv_3x3~0|+|none~0|", "--data", str(images)]) == 2
    assert "expected 3 nodes joined by '+'" in capsys.readouterr().err


def test_nas_score_names_every_network_tied_at_the_top_of_the_vote(capsys):
    from nas.cli.score_command import _print_ending  # the ending alone: a tie needs no networks scored

    table = pd.DataFrame({"name": ["a", "b", "c"], "vote": [0.67, 0.67, 0.5], "reasons": ["", "", ""]})
    _print_ending(table, None)
    assert "a, b (tied at 0.67)" in capsys.readouterr().out
