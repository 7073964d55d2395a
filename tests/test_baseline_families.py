"""What makes each baseline family what its paper says, beyond its size: the residual units of He et al. 2016b,
LeNet-5's connection table, Network in Network's layers, and the auxiliary heads of the Inception networks."""

import pytest
import torch
import torchvision
from torch import nn

from nas.models import build_model, get_model
from nas.models.profile import count_params
from nas.models.trainable import training_forward
from nas.train.trainer import loss_function

# He et al. 2016b, Fig. 4: the residual branch of each unit, then what follows the addition, written out here
# rather than read from the module's table, so a wrong table fails.
PAPER_UNITS = {
    "original": ("conv bn relu conv bn", "relu"),
    "bn_after_add": ("conv bn relu conv", "bn relu"),
    "relu_before_add": ("conv bn relu conv bn relu", ""),
    "relu_preact": ("relu conv bn relu conv bn", ""),
    "full_preact": ("bn relu conv bn relu conv", ""),
}
WORDS = {nn.Conv2d: "conv", nn.BatchNorm2d: "bn", nn.ReLU: "relu"}


def words(modules) -> str:
    return " ".join(WORDS[type(module)] for module in modules)


@pytest.mark.parametrize("variant", sorted(PAPER_UNITS))
@pytest.mark.parametrize("depth, convs", [(110, 2), (164, 3)])
def test_residual_units_are_the_papers(variant, depth, convs):
    with torch.device("meta"):
        model = build_model(baseline=f"resnet{depth}_{variant}")
    branch, after = PAPER_UNITS[variant]
    if convs == 3:  # the middle conv's layers repeat around the 1x1 convs of a bottleneck
        pieces = branch.split("conv")
        branch = "conv".join([pieces[0], pieces[1], pieces[1], pieces[2]])
    units = list(model.layers)
    assert len(units) == 3 * (depth - 2) // (3 * convs)
    for unit in units:
        assert words([*unit.preact, *unit.branch]) == " ".join(branch.split())
        assert words(unit.after) == after


def test_residual_unit_variants_compute_different_functions():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    outputs = {}
    for variant in PAPER_UNITS:
        torch.manual_seed(1)
        model = build_model(baseline=f"resnet110_{variant}")  # training mode: a fresh BN in eval is the identity
        with torch.no_grad():
            outputs[variant] = model.layers[0](model.stem(x))
    names = sorted(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not torch.allclose(outputs[a], outputs[b]), (a, b)
    assert (outputs["original"] >= 0).all() and (outputs["bn_after_add"] >= 0).all()  # ReLU after the addition
    assert (outputs["full_preact"] < 0).any()  # identity path: nothing rectifies the sum


def test_preact_resnet164_is_the_full_preactivation_unit():
    with torch.device("meta"):
        ours = build_model(baseline="preact_resnet164")
        full = build_model(baseline="resnet164_full_preact")
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [(k, v.shape) for k, v in full.state_dict().items()]


def test_lenet5_c3_reads_the_papers_connection_table():
    model = build_model(baseline="lenet5", in_channels=1)
    c3 = model.features[3]
    assert [conv.in_channels for conv in c3.convs] == [3] * 6 + [4] * 9 + [6]
    assert sum(p.numel() for p in c3.parameters()) == 1516  # the paper's count for C3
    assert count_params(model) - 850 == 60_000  # everything but our linear output layer: the paper's 60,000


def test_network_in_network_has_the_papers_layers_and_no_fully_connected_layer():
    model = build_model(baseline="nin")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size[0], c.out_channels) for c in convs] == [
        (5, 192), (1, 160), (1, 96), (5, 192), (1, 192), (1, 192), (3, 192), (1, 192), (1, 10)]
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert count_params(model) == sum(c.weight.numel() + c.bias.numel() for c in convs) == 966_986


@pytest.mark.parametrize("name, heads", [("googlenet", 2), pytest.param("inception_v3", 1, marks=pytest.mark.slow)])
def test_inception_networks_train_their_auxiliary_heads(name, heads):
    with torch.device("meta"):
        ours = build_model(baseline=name, num_classes=1000, image_size=299)
        reference = getattr(torchvision.models, name)(weights=None, aux_logits=False, init_weights=False)
    assert isinstance(ours, type(reference))  # torchvision's class, with the trainer's view of the heads
    assert count_params(ours) == sum(p.numel() for p in reference.parameters())  # heads left out, as the papers do
    size = 64 if name == "googlenet" else 299
    model = build_model(baseline=name, num_classes=5, image_size=size)
    x, labels = torch.randn(2, 3, size, size), torch.tensor([0, 1])
    torch.manual_seed(0)
    output = training_forward(model)(x)
    assert output.logits.shape == (2, 5) and len(output.aux_logits) == heads
    losses = []
    for weight in (0.0, 0.3):
        torch.manual_seed(0)  # the same dropout draws
        losses.append(loss_function(training_forward(model), nn.CrossEntropyLoss(), weight)(x, labels)[0])
    expected = sum(nn.functional.cross_entropy(head, labels) for head in output.aux_logits)
    assert (losses[1] - losses[0]).item() == pytest.approx(0.3 * expected.item(), rel=1e-4)
    assert model(x).shape == (2, 5) and model.eval()(x[:1]).shape == (1, 5)  # logits only, in both modes


@pytest.mark.parametrize("name, module, count", [
    ("se_resnet50", "SqueezeExcite", 16), ("se_resnext50_32x4d", "SqueezeExcite", 16),
    ("se_resnet110", "SqueezeExcite", 54), ("se_resnet164", "SqueezeExcite", 54),
    ("sknet50", "SelectiveKernel", 16), ("sknet29", "SelectiveKernel", 9),
    ("shufflenet_v1_g3", "ShuffleUnit", 16),
])  # fmt: skip
def test_attention_and_shuffle_networks_use_the_ops_modules(name, module, count):
    """One module per residual block (or ShuffleNet unit), the very class the `se_block`, `sk_conv` and
    `shuffle_conv_3x3` ops build."""
    from nas.models import attention, layers

    cls = getattr(attention, module, None) or getattr(layers, module)
    with torch.device("meta"):
        model = build_model(baseline=name, image_size=get_model(name).image_size)
    assert sum(type(m) is cls for m in model.modules()) == count


def test_shuffle_op_is_unchanged_by_the_networks_unit():
    from nas.models.ops import build_op

    op = build_op("shuffle_conv_3x3", 24, stride=2)
    assert [type(m).__name__ for m in op] == ["ReLU", "Conv2d", "BatchNorm2d", "ReLU", "ChannelShuffle", "Conv2d",
                                              "BatchNorm2d", "Conv2d", "BatchNorm2d"]
    assert op(torch.randn(2, 24, 8, 8)).shape == (2, 24, 4, 4)


def test_fractalnet_global_drop_path_computes_one_column_only():
    from nas.models.zoo.fractalnet import Route

    torch.manual_seed(0)
    model = build_model(baseline="fractalnet20")
    block, x = model.blocks[0].fractal, torch.randn(2, 64, 8, 8)
    block(x, Route(column=0)).sum().backward()  # the shallowest column: one conv
    assert block.shallow[0][0].weight.grad is not None
    assert all(p.grad is None for p in [*block.first.parameters(), *block.second.parameters()])
    model.zero_grad(set_to_none=True)
    block(x, Route(column=2)).sum().backward()  # the deepest: four convs, none of the shallower columns'
    assert block.shallow[0][0].weight.grad is None and block.first.shallow[0][0].weight.grad is None
    deepest = block.first.first.shallow[0][0].weight.grad
    assert deepest is not None


def test_fractalnet_local_drop_path_keeps_at_least_one_input_of_each_join():
    from nas.models.zoo.fractalnet import Route, join

    torch.manual_seed(0)
    inputs = [torch.full((1,), float(value)) for value in (1, 2, 4)]
    assert join(inputs, Route()).item() == pytest.approx(7 / 3)
    dropped_all = {join(inputs, Route(local_drop=1.0)).item() for _ in range(30)}
    assert dropped_all <= {1.0, 2.0, 4.0} and len(dropped_all) > 1  # one input, chosen at random
    some = {round(join(inputs, Route(local_drop=0.5)).item(), 4) for _ in range(60)}
    assert round(7 / 3, 4) in some and len(some) > 3


def test_fractalnet_widens_at_block_entrances_by_1x1_convs_that_every_route_passes():
    """38.6M (the paper's table) comes from 1x1 widening entrances; 3x3 convs inside a block keep its width."""
    from nas.models.zoo.fractalnet import FractalNet, Route

    model = build_model(baseline="fractalnet20")
    entrances = [stage.entrance[0] for stage in model.blocks if not isinstance(stage.entrance, nn.Identity)]
    assert [(conv.in_channels, conv.out_channels, conv.kernel_size) for conv in entrances] == [
        (3, 64, (1, 1)), (64, 128, (1, 1)), (128, 256, (1, 1)), (256, 512, (1, 1))]
    convs3x3 = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs3x3) == 5 * 7 and all(conv.in_channels == conv.out_channels for conv in convs3x3)
    literal = FractalNet(widen_by_1x1=False)
    assert sum(p.numel() for p in literal.parameters()) < 0.9 * sum(p.numel() for p in model.parameters())
    for column in range(3):  # global drop-path to any single column still goes through the entrance
        model.zero_grad(set_to_none=True)
        model.blocks[1](torch.randn(2, 64, 8, 8), Route(column=column)).sum().backward()
        assert model.blocks[1].entrance[0].weight.grad is not None


def test_fractalnet_trains_with_both_drop_paths_and_evaluates_with_none():
    torch.manual_seed(0)
    model = build_model(baseline="fractalnet20")
    routes = [model.route() for _ in range(200)]
    assert 60 < sum(route.column is not None for route in routes) < 140
    assert {route.column for route in routes} == {None, 0, 1, 2}
    assert all(route.local_drop == 0.15 for route in routes if route.column is None)
    model.eval()
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(model(x), model(x))


def test_fractalnet_is_not_captured_in_a_cuda_graph():
    from nas.errors import ConfigError
    from nas.train.recipe import Recipe
    from nas.train.step_setup import use_cuda_graph

    cuda = torch.device("cuda")  # only its type is read
    with torch.device("meta"):
        fractal, resnet = build_model(baseline="fractalnet20"), build_model(baseline="resnet20")
    assert use_cuda_graph(Recipe(), cuda, resnet) and not use_cuda_graph(Recipe(), cuda, fractal)
    with pytest.raises(ConfigError, match="freeze"):
        use_cuda_graph(Recipe(cuda_graph="on"), cuda, fractal)


def nonzero_group_weights(model) -> int:
    return sum(int(((m.conv.weight[:, :, 0, 0] * m.mask) != 0).sum()) for m in model.learned_convs())


def test_condensenet_schedule_prunes_a_quarter_of_each_groups_inputs_per_stage():
    torch.manual_seed(0)
    model = build_model(baseline="condensenet86")
    total = sum(m.conv.weight.numel() for m in model.learned_convs())
    for progress, kept in ((0.0, 4), (0.1, 4), (1 / 6, 3), (0.3, 3), (2 / 6, 2), (0.5, 1), (0.9, 1)):
        model.set_progress(progress)
        assert nonzero_group_weights(model) == total * kept // 4, progress
    for conv in model.learned_convs():  # every group reads its own quarter of the inputs
        kept = conv.kept_inputs()
        assert {len(channels) for channels in kept} == {conv.conv.in_channels // 4}
        assert len({tuple(channels.tolist()) for channels in kept}) > 1


def test_condensed_network_is_standard_group_convs_and_a_halved_classifier_computing_the_same():
    from nas.models.zoo.condensenet import CondensedLinear, condense

    torch.manual_seed(0)
    model = build_model(baseline="condensenet86")
    with pytest.raises(ValueError, match="fully condensed"):
        condense(build_model(baseline="condensenet86"))
    model.set_progress(0.5)
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    weight, bias = model.classifier.weight.detach().clone(), model.classifier.bias.detach().clone()
    with torch.no_grad():
        features = model.features(x).flatten(1)
        condensed_size = count_params(model.inference_model())
        condense(model)
        assert torch.allclose(model.features(x).flatten(1), features, atol=1e-5)
        # the classifier reads the half of its inputs with the largest summed |weight|, and nothing else
        kept = weight.abs().sum(0).argsort(descending=True)[:400].sort().values
        assert isinstance(model.classifier, CondensedLinear) and torch.equal(model.classifier.index, kept)
        assert torch.allclose(model(x), features[:, kept] @ weight[:, kept].T + bias, atol=1e-5)
    assert not model.learned_convs()
    with pytest.raises(ValueError, match="condensed already"):
        condense(model)
    grouped = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert len(grouped) == 42 and all(m.groups == 4 for m in grouped)
    assert count_params(model) == condensed_size == 516_202  # the paper's 0.52M


def test_condensenet_costs_the_published_flops_counted_as_the_authors_count():
    """The paper's FLOPs (65.8M, 513M) are the condensed network's multiply-adds plus one operation per element
    through each ReLU and pooling layer, which is how the authors' counter counts; our multiply-adds plus those
    elements land within 0.1% of them, which checks the condensed architecture layer by layer."""
    from baseline_counts import our_macs
    from nas.models.baseline_table import inference_form

    for name, published in (("condensenet86", 65.8e6), ("condensenet182", 513e6)):
        spec = get_model(name)
        model, elements = inference_form(spec), []
        for module in model.modules():
            if isinstance(module, (nn.ReLU, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
                module.register_forward_hook(lambda module, inputs, output: elements.append(inputs[0].numel()))
        model.eval()(torch.zeros(1, 3, 32, 32, device="meta"))
        assert our_macs(spec) + sum(elements) == pytest.approx(published, rel=1e-3), name


def test_group_lasso_is_the_sum_of_each_groups_weight_norms_per_input_and_stops_when_condensed():
    from nas.models.zoo.condensenet import GROUP_LASSO, LearnedGroupConv

    torch.manual_seed(0)
    conv = LearnedGroupConv(8, 8, groups=2, condensation=4)
    weight = conv.conv.weight[:, :, 0, 0]
    unpruned = sum(weight[rows, column].norm() for rows in (slice(0, 4), slice(4, 8)) for column in range(8))
    assert conv.group_lasso().item() == pytest.approx(unpruned.item(), rel=1e-5)
    conv.condense_to(1)  # pruned inputs no longer count
    masked = weight * conv.mask
    expected = sum(masked[rows, column].norm() for rows in (slice(0, 4), slice(4, 8)) for column in range(8))
    assert conv.group_lasso().item() == pytest.approx(expected.item(), rel=1e-5) and expected < unpruned
    conv.group_lasso().backward()  # a pruned weight (norm 0) gets a finite gradient
    assert torch.isfinite(conv.conv.weight.grad).all()

    model = build_model(baseline="condensenet86")
    penalty = model.forward_train(torch.randn(2, 3, 32, 32)).penalty
    assert penalty.item() == pytest.approx(GROUP_LASSO * model.group_lasso().item(), rel=1e-5) and penalty > 0
    model.set_progress(0.49)  # two of three stages: still penalised
    assert model.forward_train(torch.randn(2, 3, 32, 32)).penalty > 0
    model.set_progress(0.5)  # fully condensed: the authors stop the penalty
    assert model.forward_train(torch.randn(2, 3, 32, 32)).penalty.item() == 0


def test_the_trainers_loss_adds_the_networks_penalty():
    torch.manual_seed(0)
    model = build_model(baseline="condensenet86")
    criterion = nn.CrossEntropyLoss()
    x, labels = torch.randn(2, 3, 32, 32), torch.tensor([1, 2])
    torch.manual_seed(1)
    loss, logits = loss_function(model.forward_train, criterion, 0.0)(x, labels)
    penalty = model.lasso_weight * model.group_lasso()
    assert (loss - criterion(logits, labels)).item() == pytest.approx(penalty.item(), rel=1e-4)


def test_nas_train_condenses_condensenet_on_schedule(tmp_path, capsys):
    """Two epochs: the second starts half-way, where all three condensation steps are due."""
    from search_fixtures import make_image_folder

    from nas.cli import main
    from nas.train.checkpoint import load_checkpoint

    data = make_image_folder(tmp_path / "data", per_class=8, test_per_class=1)
    argv = ["train", "--baseline", "condensenet86", "--data", str(data), "--epochs", "2", "--batch-size", "12",
            "--no-progress", "--out", str(tmp_path / "run")]
    assert main(argv) == 0, capsys.readouterr().err
    weights = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["model"]
    model = build_model(baseline="condensenet86", num_classes=3)
    model.load_state_dict(weights)
    assert all(int(conv.stage) == 3 for conv in model.learned_convs())
    total = sum(m.conv.weight.numel() for m in model.learned_convs())
    assert nonzero_group_weights(model) == total // 4
