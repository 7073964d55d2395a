"""Cells and cell networks: every published cell in every stack, auxiliary head, drop path, concat blocks, errors."""

import pytest
import torch

from nas.errors import ConfigError, GenotypeError
from nas.models import build_model, count_params_and_macs, model_names
from nas.models.cell import CellModule
from nas.models.layers import drop_path
from nas.space.genotype import Cell, Genotype
from nas.space.genotype_files import resolve_genotype
from nas.space.genotype_files import published_cell_names

PUBLISHED = ["nasnet-a", "amoebanet-a", "darts-v1", "darts-v2", "pnasnet-5", "enas"]
STACKS = ["cifar", "imagenet", "nasnet-mobile", "nasnet-large"]
# Tiny settings so each build-and-forward takes a fraction of a second: 4 cells (normal, reduce, reduce, normal).
TINY = {"cifar": (8, 16), "imagenet": (8, 32), "nasnet-mobile": (8, 32), "nasnet-large": (8, 32)}



def test_published_cells_and_stacks_are_all_there():
    assert set(PUBLISHED) <= set(published_cell_names())
    assert set(STACKS) == set(model_names("stack"))


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("name", PUBLISHED)
def test_every_published_cell_runs_in_every_stack(name, stack):
    torch.manual_seed(0)
    channels, image_size = TINY[stack]
    model = build_model(genotype=name, stack=stack, channels=channels, cells=4, num_classes=7, image_size=image_size)
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, image_size, image_size))
    assert logits.shape == (2, 7)
    assert torch.isfinite(logits).all()


def test_backward_through_a_cell_network():
    model = build_model(genotype="darts-v2", channels=4, cells=3, in_channels=1, num_classes=5)
    logits = model(torch.randn(2, 1, 16, 16))
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_auxiliary_head_in_training_only_and_excluded_from_params():
    model = build_model(genotype="darts-v2", channels=4, cells=6, num_classes=10, auxiliary=True)
    x = torch.randn(2, 3, 32, 32)
    output = model.train().forward_train(x)
    assert output.logits.shape == output.aux_logits.shape == (2, 10)
    assert model(x).shape == (2, 10)  # forward: logits only, in training too
    assert model.eval().forward_train(x).aux_logits is None  # no auxiliary head in eval
    plain = build_model(genotype="darts-v2", channels=4, cells=6, num_classes=10)
    assert count_params_and_macs(model, (3, 32, 32)) == count_params_and_macs(plain, (3, 32, 32))
    assert build_model(genotype="darts-v2", channels=4, cells=3).train().forward_train(x).aux_logits is None


def test_drop_path_attribute_and_effect():
    torch.manual_seed(0)
    model = build_model(genotype="darts-v2", channels=4, cells=3, drop_path=0.3)
    assert model.drop_path_prob == pytest.approx(0.3)
    x = torch.randn(4, 3, 16, 16)
    model.train()
    model.set_drop_path(0.0)
    assert torch.allclose(model(x), model(x))  # train-mode BN is deterministic; no drop path
    model.set_drop_path(0.5)
    assert not torch.allclose(model(x), model(x))
    model.eval()
    assert torch.allclose(model(x), model(x))  # never in eval


def test_drop_path_drops_whole_samples_and_rescales():
    torch.manual_seed(0)
    out = drop_path(torch.ones(4000, 2, 3, 3), 0.25)
    per_sample = out.flatten(1)
    values = per_sample.unique()
    assert len(values) == 2 and values[0] == 0 and values[1].item() == pytest.approx(1 / 0.75)
    assert (per_sample[:, 0] == 0).float().mean().item() == pytest.approx(0.25, abs=0.03)


def test_identity_branches_are_never_dropped():
    cell = Cell.from_dict({"blocks": [[0, "skip_connect", 1, "skip_connect", "add"]]})
    module = CellModule(cell, 4, 4, 4, reduction=False, reduction_prev=False).train()
    s = torch.randn(3, 4, 5, 5)
    assert torch.allclose(module(s, s, drop_prob=0.9), module(s, s, drop_prob=0.0))


def test_concat_combine_projects_back_to_C():
    genotype = Genotype.parse("normal: concat(sep_conv_3x3@0, conv_1x1@1) concat(skip_connect@2, max_pool_3x3@0) "
                              "| reduce: concat(conv_3x3@0, avg_pool_3x3@1) add(skip_connect@2, se_block@1)")
    model = build_model(genotype=genotype, channels=6, cells=4).eval()
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    normal = model.cells[0]
    assert set(normal.projections) == {"0", "1"} and normal.multiplier == 1


def test_cell_inputs_as_outputs_follow_tf_slim():
    # TF-slim's NASNet-A concatenates node 0 in the normal cell; in a reduction cell an input output is reduced.
    genotype = Genotype(Cell(resolve_genotype("nasnet-a").normal.blocks, (0, 2, 3, 4, 5, 6)),
                        Cell(resolve_genotype("nasnet-a").reduce.blocks, (1, 3, 4, 5, 6)))
    model = build_model(genotype=genotype, stack="nasnet-mobile", channels=8, cells=5).eval()
    assert model(torch.randn(1, 3, 48, 48)).shape == (1, 10)
    assert model.cells[0].multiplier == 6 and model.cells[1].multiplier == 5
    assert "1" in model.cells[1].output_reducers


def test_stack_layout_matches_darts():
    model = build_model(genotype="darts-v2", channels=36, cells=20)
    reductions = [index for index, cell in enumerate(model.cells) if cell.reduction]
    assert reductions == [6, 13]
    assert model.stem.channels == (108, 108)
    assert model.out_channels == 4 * 4 * 36
    mobile = build_model(genotype="darts-v2", stack="nasnet-mobile")
    assert [i for i, cell in enumerate(mobile.cells) if cell.reduction] == [4, 9]  # N=4 normal cells per stage


def test_in_channels_num_classes_and_image_size_are_arguments():
    model = build_model(genotype="enas", stack="imagenet", channels=8, cells=3, in_channels=1, num_classes=3,
                        image_size=40).eval()
    assert model.image_size == 40
    assert model(torch.randn(2, 1, 40, 40)).shape == (2, 3)


def test_build_model_errors():
    with pytest.raises(ConfigError, match="exactly one"):
        build_model()
    with pytest.raises(ConfigError, match="exactly one"):
        build_model(genotype="darts-v2", baseline="resnet20")
    with pytest.raises(ConfigError) as error:
        build_model(genotype="darts-v2", stack="mobile")
    assert "'mobile'" in str(error.value) and "nasnet-mobile" in str(error.value)
    with pytest.raises(ConfigError, match="resnet56"):
        build_model(baseline="resnet57")
    with pytest.raises(GenotypeError, match="no genotype file or published cell"):
        build_model(genotype="not-a-cell")
    with pytest.raises(GenotypeError, match="unknown op 'sep_conv_9x9'"):
        build_model(genotype=Genotype.parse("normal: add(sep_conv_9x9@0, skip_connect@1) | "
                                            "reduce: add(max_pool_3x3@0, max_pool_3x3@1)"))
    with pytest.raises(ConfigError, match="drop_path"):
        build_model(genotype="darts-v2", drop_path=1.5)
    with pytest.raises(ConfigError, match="cells"):
        build_model(genotype="darts-v2", cells=0)
