"""Strided 1x1 convolutions run as stride-1 convolutions of every other pixel: oneDNN's strided 1x1 weight gradient
corrupts the heap in channels_last with few input channels (../shared/reference/known-upstream-bugs.md). The crash
kills the process, so the checks that would meet it run in a subprocess."""

import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nas.models import build_model
from nas.models.layers import FactorizedReduce
from nas.models.strided_pointwise import StridedPointwiseConv, conv2d


def run_in_subprocess(code: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)


def test_factorized_reduce_survives_channels_last_backward_at_few_channels():
    result = run_in_subprocess("""
        import torch
        from nas.models.layers import FactorizedReduce

        torch.manual_seed(0)
        module = FactorizedReduce(8, 8).to(memory_format=torch.channels_last)
        x = torch.randn(2, 8, 56, 56).contiguous(memory_format=torch.channels_last).requires_grad_()
        for _ in range(2):
            module(x).square().sum().backward()
        print("survived")
    """)
    assert result.returncode == 0 and "survived" in result.stdout, (result.returncode, result.stderr[-2000:])


def reference_factorized_reduce(module: FactorizedReduce, x: torch.Tensor) -> torch.Tensor:
    """What FactorizedReduce computed with two plain stride-2 convolutions, the second on the input shifted by one
    pixel after padding right and bottom, in contiguous format (which oneDNN runs correctly)."""
    x = F.relu(x)
    shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
    out = torch.cat([F.conv2d(x, module.conv_1.weight, stride=2), F.conv2d(shifted, module.conv_2.weight, stride=2)],
                    dim=1)
    return module.bn(out)


@pytest.mark.parametrize("size", [56, 15])  # odd sizes use the padded shift
def test_factorized_reduce_gives_the_stride_2_convolutions_results_and_gradients(size):
    torch.manual_seed(0)
    module = FactorizedReduce(8, 6)
    x = torch.randn(2, 8, size, size)
    grad = torch.randn(2, 6, (size + 1) // 2, (size + 1) // 2)
    out = module(x)
    out.backward(grad)
    ours = [p.grad.clone() for p in (module.conv_1.weight, module.conv_2.weight)]
    module.zero_grad()
    expected = reference_factorized_reduce(module, x)
    expected.backward(grad)
    assert torch.allclose(out, expected, atol=1e-5)
    for got, want in zip(ours, (module.conv_1.weight.grad, module.conv_2.weight.grad)):
        assert torch.allclose(got, want, atol=1e-4)


def test_checkpoints_keep_their_keys_and_the_convolutions_their_stride():
    module = FactorizedReduce(8, 8)
    assert set(module.state_dict()) == {"conv_1.weight", "conv_2.weight", "bn.weight", "bn.bias", "bn.running_mean",
                                        "bn.running_var", "bn.num_batches_tracked"}
    assert isinstance(module.conv_1, nn.Conv2d) and module.conv_1.stride == (2, 2)
    plain = nn.Conv2d(8, 4, 1, stride=2, bias=False)  # a module as a checkpoint written before held it
    module.conv_1.load_state_dict(plain.state_dict())
    x = torch.randn(1, 8, 10, 10)
    assert torch.allclose(module.conv_1(x), plain(x), atol=1e-6)


def test_factorized_reduce_to_one_channel_builds_and_runs():
    module = FactorizedReduce(4, 1)
    assert module(torch.randn(2, 4, 9, 9)).shape == (2, 1, 5, 5)


def test_only_unpadded_strided_1x1_convolutions_change_class():
    assert type(conv2d(4, 4, 1, stride=2)) is StridedPointwiseConv
    assert type(conv2d(4, 4, 1, stride=1)) is nn.Conv2d
    assert type(conv2d(4, 4, 3, stride=2, padding=1)) is nn.Conv2d


@pytest.mark.parametrize("name, build", [
    ("imagenet", dict(genotype="darts-v2", stack="imagenet", channels=8, cells=3)),
    ("nasnet-mobile", dict(genotype="darts-v2", stack="nasnet-mobile", channels=4, cells=3)),
    ("conv_1x1 reduction", dict(genotype="normal: add(conv_1x1@0, skip_connect@1) -> 2 | "
                                                   "reduce: add(conv_1x1@0, conv_1x1@1) -> 2",
                                          stack="cifar", channels=4, cells=3)),
    ("resnext", dict(baseline="resnext29_8x64d")),
    ("projection shortcuts", dict(baseline="resnet164_full_preact")),
])
def test_no_network_of_the_engine_holds_a_plain_strided_1x1_convolution(name, build):
    model = build_model(num_classes=3, **build)
    strided_1x1 = [module for module in model.modules() if isinstance(module, nn.Conv2d)
                   and module.kernel_size == (1, 1) and module.stride != (1, 1)]
    assert strided_1x1 and all(isinstance(module, StridedPointwiseConv) for module in strided_1x1)


def test_the_imagenet_stack_trains_in_channels_last_on_cpu():
    # Without the fix this dies in the first backward pass ("double free or corruption" or SIGSEGV).
    result = run_in_subprocess("""
        import torch
        from nas.models import build_model

        torch.manual_seed(0)
        model = build_model(genotype="darts-v2", stack="imagenet", channels=8, cells=3, num_classes=3,
                            image_size=224).to(memory_format=torch.channels_last).train()
        x = torch.randn(16, 3, 224, 224).contiguous(memory_format=torch.channels_last)
        for _ in range(2):
            model(x).sum().backward()
        print("survived")
    """)
    assert result.returncode == 0 and "survived" in result.stdout, (result.returncode, result.stderr[-2000:])
