"""Hand-designed baselines: sizes against the papers, torchvision equality, SE/SK variants share the op modules."""

import pytest
import torch
import torchvision

from nas.models import build_model, count_params_and_macs, model_names
from nas.models.attention import SelectiveKernel, SqueezeExcite
from nas.models.profile import count_params

# Parameters from ../shared/reference/published.md (He et al. 2016, Table 6; He et al. 2016b; Huang et al. 2017).
# The papers print two significant digits, so 0.8M stands for anything in [0.75M, 0.85M): tolerances follow.
PUBLISHED_PARAMS = {
    "resnet20": (0.27e6, 0.03),
    "resnet32": (0.46e6, 0.03),
    "resnet44": (0.66e6, 0.03),
    "resnet56": (0.85e6, 0.03),
    "resnet110": (1.7e6, 0.03),
    "preact_resnet164": (1.7e6, 0.03),
    "densenet40": (1.0e6, 0.05),
    "densenet_bc100": (0.8e6, 0.05),
}
TORCHVISION = {
    "resnet18": "resnet18", "resnet34": "resnet34", "resnet50": "resnet50", "resnet101": "resnet101",
    "densenet121": "densenet121", "densenet169": "densenet169", "resnext50_32x4d": "resnext50_32x4d",
    "shufflenet_v2": "shufflenet_v2_x1_0", "vgg16": "vgg16",
}



def meta_model(**kwargs):
    with torch.device("meta"):
        return build_model(**kwargs)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_cifar_baseline_sizes(name):
    published, tolerance = PUBLISHED_PARAMS[name]
    assert count_params(meta_model(baseline=name)) == pytest.approx(published, rel=tolerance)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_imagenet_baselines_are_torchvision(name):
    ours = meta_model(baseline=name, num_classes=1000)
    with torch.device("meta"):
        reference = getattr(torchvision.models, TORCHVISION[name])(weights=None)
    assert type(ours) is type(reference)
    assert count_params(ours) == sum(p.numel() for p in reference.parameters())


def test_imagenet_baselines_take_classes_and_input_channels():
    for name in TORCHVISION:
        model = meta_model(baseline=name, num_classes=7, in_channels=1)
        counts = count_params_and_macs(model, (1, 64, 64))  # a meta forward checks the shapes
        assert counts["macs"] > 0
        with torch.device("meta"):
            assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 7)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_cifar_baselines_take_classes_and_input_channels(name):
    with torch.device("meta"):
        assert meta_model(baseline=name, num_classes=7, in_channels=1)(torch.zeros(2, 1, 32, 32)).shape == (2, 7)


@pytest.mark.parametrize("name", ["resnet20", "se_resnet20", "sk_resnet20"])
def test_cifar_baselines_forward_and_backward(name):
    torch.manual_seed(0)
    model = build_model(baseline=name, num_classes=10, in_channels=3)
    logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10)
    logits.sum().backward()


def test_se_and_sk_variants_use_the_op_modules():
    names = model_names("baseline")
    for depth in (20, 32, 44, 56, 110):
        assert {f"se_resnet{depth}", f"sk_resnet{depth}"} <= set(names)
    se = meta_model(baseline="se_resnet56")
    sk = meta_model(baseline="sk_resnet56")
    assert sum(isinstance(m, SqueezeExcite) for m in se.modules()) == 27  # one per residual block
    assert sum(isinstance(m, SelectiveKernel) for m in sk.modules()) == 27
    plain = count_params(meta_model(baseline="resnet56"))
    assert plain < count_params(se) < 1.05 * plain  # SE adds about 1%
    single = build_model(baseline="se_resnet20", in_channels=1, num_classes=4).eval()
    assert single(torch.randn(1, 1, 32, 32)).shape == (1, 4)


def test_baselines_ignore_cell_arguments():
    model = build_model(baseline="resnet20", channels=99, cells=7, auxiliary=True, drop_path=0.2)
    assert count_params(model) == count_params(build_model(baseline="resnet20"))
