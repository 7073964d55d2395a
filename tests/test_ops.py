"""The op registry: every op keeps C channels, halves H and W at stride 2, trains; users can add ops; errors."""

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import torch
from torch import nn

import nas
from nas.errors import GenotypeError
from nas.models import attention, ops
from nas.models.ops import builtin
from nas.models.ops import build_op, get_op, known_op_names, list_ops, register_op
from nas.space.op_registry import OPS

BUILT_IN = [spec.name for spec in list_ops()]
DESIGN_NAMES = [
    "skip_connect", "conv_1x1", "conv_3x3", "conv_1x3_3x1", "conv_1x7_7x1", "sep_conv_3x3", "sep_conv_5x5",
    "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "avg_pool_3x3",
    "group_conv_3x3", "shuffle_conv_3x3", "se_block", "sk_conv", "none",
]



@pytest.fixture
def clean_registry():
    """Undo registrations a test makes."""
    with OPS.restored_afterwards():
        yield


def test_every_design_name_is_registered_with_a_description():
    assert set(DESIGN_NAMES) <= set(BUILT_IN)
    assert {"identity", "conv_7x1_1x7"} <= known_op_names()
    for spec in list_ops():
        assert spec.description and "\n" not in spec.description


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("channels", [16, 24])
@pytest.mark.parametrize("stride", [1, 2])
def test_op_shape_and_backward(name, channels, stride):
    torch.manual_seed(0)
    op = build_op(name, channels, stride)
    x = torch.randn(2, channels, 8, 8, requires_grad=True)
    y = op(x)
    assert y.shape == (2, channels, 8 // stride, 8 // stride)
    y.square().mean().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    if name != "none":
        assert x.grad.abs().sum() > 0
    params = list(op.parameters())
    assert all(p.grad is not None for p in params if p.requires_grad)


@pytest.mark.parametrize("name", BUILT_IN)
def test_odd_sizes_halve_like_same_padding(name):
    # 7 -> 4 at stride 2 for every op, or cells could not add branches (NASNet's 111 px stem output needs this).
    op = build_op(name, 16, 2).eval()
    assert op(torch.randn(1, 16, 7, 7)).shape == (1, 16, 4, 4)


def test_odd_channel_counts_build():
    for name in BUILT_IN:
        if name == "group_conv_3x3":
            continue
        assert build_op(name, 11, 2)(torch.randn(2, 11, 6, 6)).shape == (2, 11, 3, 3)


def test_aliases_and_identity():
    assert isinstance(build_op("identity", 8, 1), nn.Identity)
    assert isinstance(build_op("skip_connect", 8, 1), nn.Identity)
    assert get_op("conv_7x1_1x7") is get_op("conv_1x7_7x1")


def test_affine_false_has_no_batchnorm_parameters():
    op = build_op("sep_conv_3x3", 8, 1, affine=False)
    assert all(not bn.affine for bn in op.modules() if isinstance(bn, nn.BatchNorm2d))


def test_none_is_zero_and_avg_pool_ignores_padding():
    assert build_op("none", 4, 2)(torch.ones(1, 4, 5, 5)).abs().sum() == 0
    pooled = build_op("avg_pool_3x3", 1, 1)(torch.ones(1, 1, 4, 4))
    assert torch.allclose(pooled, torch.ones_like(pooled))  # count_include_pad=False: corners stay 1


def test_attention_ops_use_the_shared_modules():
    assert isinstance(build_op("se_block", 16, 1), attention.SqueezeExcite)
    assert any(isinstance(m, attention.SqueezeExcite) for m in build_op("se_block", 16, 2).modules())
    assert isinstance(build_op("sk_conv", 16, 1), attention.SelectiveKernel)


def test_unknown_op_names_it_and_lists_known_ops():
    with pytest.raises(GenotypeError) as error:
        build_op("sep_conv_9x9", 16, 1)
    assert "sep_conv_9x9" in str(error.value) and "sep_conv_3x3" in str(error.value)


def test_bad_stride_is_an_error():
    with pytest.raises(GenotypeError, match="stride"):
        build_op("conv_3x3", 16, 3)


def test_group_conv_with_indivisible_channels_names_op_channels_and_groups():
    with pytest.raises(GenotypeError) as error:
        build_op("group_conv_3x3", 18, 1)
    message = str(error.value)
    assert "group_conv_3x3" in message and "C=18" in message and str(builtin.GROUP_WIDTH) in message


def test_register_user_op_with_decorator(clean_registry):
    @register_op("scaled_identity", description="identity times two", aliases=("twice",))
    def scaled_identity(C, stride, affine):
        return nn.Sequential(build_op("skip_connect", C, stride, affine), nn.Hardtanh(-2, 2))

    assert "scaled_identity" in [spec.name for spec in list_ops()]
    assert {"scaled_identity", "twice"} <= known_op_names()
    assert get_op("twice").description == "identity times two"
    assert build_op("scaled_identity", 8, 2)(torch.randn(1, 8, 6, 6)).shape == (1, 8, 3, 3)


def test_register_user_op_by_call_and_use_it_in_a_network(clean_registry):
    def conv_5x5(C, stride, affine):
        """ReLU-conv 5x5-BN (a user op)"""
        return nn.Sequential(nn.ReLU(), nn.Conv2d(C, C, 5, stride, 2, bias=False), nn.BatchNorm2d(C, affine=affine))

    register_op("conv_5x5", conv_5x5)
    assert get_op("conv_5x5").description == "ReLU-conv 5x5-BN (a user op)"

    from nas.models import build_model
    from nas.space.genotype import Genotype

    genotype = Genotype.parse("normal: add(conv_5x5@0, skip_connect@1) -> 2 | reduce: add(conv_5x5@0, max_pool_3x3@1)")
    model = build_model(genotype=genotype, channels=4, cells=3).eval()
    assert model(torch.randn(1, 3, 16, 16)).shape == (1, 10)


def test_registering_a_taken_name_is_an_error(clean_registry):
    with pytest.raises(ValueError, match="already registered"):
        register_op("sep_conv_3x3", lambda C, stride, affine: nn.Identity())
    with pytest.raises(ValueError, match="already registered"):
        register_op("my_op", lambda C, stride, affine: nn.Identity(), aliases=("identity",))
    register_op("sep_conv_3x3", lambda C, stride, affine: nn.Identity(), replace=True)
    assert isinstance(build_op("sep_conv_3x3", 4, 1), nn.Identity)


def test_an_op_module_dropped_into_the_ops_package_registers_without_being_imported(tmp_path):
    """A new module in nas/models/ops/ is found by the op registry in a fresh interpreter that imports nothing of
    nas.models first: the registry's first lookup imports every module of the package."""
    name = f"probe_{uuid.uuid4().hex[:8]}"
    module = Path(ops.__file__).parent / f"{name}.py"
    module.write_text(textwrap.dedent(f"""\
        from torch import nn
        from nas.models.ops import register_op

        @register_op("{name}_op", aliases=("{name}_alias",), description="a dropped-in op")
        def build(C, stride, affine):
            return nn.Identity()
    """))
    lookup = textwrap.dedent(f"""\
        import sys
        from nas.space.op_registry import OPS
        before = "nas.models" in sys.modules
        spec = OPS.get("{name}_alias")
        print(before, spec.name, spec.description, type(spec.builder(4, 1, True)).__name__, sep="|")
    """)
    root = str(Path(nas.__file__).resolve().parents[1])
    environment = {**os.environ, "PYTHONPATH": root, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run([sys.executable, "-c", lookup], capture_output=True, text=True, env=environment,
                              cwd=tmp_path, timeout=120)
    finally:
        module.unlink()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"False|{name}_op|a dropped-in op|Identity"]
