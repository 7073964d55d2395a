"""Models: the op registry, cells, cell networks, baselines and profiling. `build_model` is the one entry point."""

from __future__ import annotations

from torch import nn

from nas.errors import ConfigError
from nas.models import networks as _networks  # noqa: F401  (registers the stacks)
from nas.models.nasbench201_network import benchmark_flops, build_nasbench201_network
from nas.models.networks import SMALL_IMAGE_STACK, default_stack
from nas.models.ops import build_op, known_op_names, list_ops, register_op
from nas.models.profile import count_params_and_macs
from nas.models.registry import get_model, list_models, model_names, register_model
from nas.space.genotype import Genotype
from nas.space.genotype_files import resolve_genotype
from nas.space.nasbench201 import is_nasbench201_arch

__all__ = [
    "SMALL_IMAGE_STACK",
    "benchmark_flops",
    "build_model",
    "default_stack",
    "build_op",
    "count_params_and_macs",
    "get_model",
    "is_nasbench201_arch",
    "known_op_names",
    "list_models",
    "list_ops",
    "model_names",
    "register_model",
    "register_op",
    "resolve_genotype_for_model",
]


def resolve_genotype_for_model(genotype) -> Genotype:
    """A Genotype, or a published name / file / inline text, validated against the registered ops."""
    if not isinstance(genotype, Genotype):
        genotype = resolve_genotype(genotype)
    return genotype.validate(known_op_names())


def build_model(*, genotype=None, baseline=None, stack: str = SMALL_IMAGE_STACK, channels: int | None = None,
                cells: int | None = None, num_classes: int = 10, in_channels: int = 3, image_size: int = 32,
                auxiliary: bool = False, drop_path: float = 0.0) -> nn.Module:
    """A cell network (`genotype` stacked as `stack`) or a registered `baseline`, exactly one of the two: the one
    place that builds any candidate, whatever form its genotype takes.

    `channels` and `cells` default to the stack's published setting (cifar 36/20, imagenet 48/14, nasnet-mobile
    44/14, nasnet-large 168/20; `cells` counts normal and reduction cells, stem cells excluded). Cell networks return
    their logits; the trainer reaches the auxiliary logits and drop-path through nas.models.trainable.
    Baselines ignore channels, cells, auxiliary and drop_path. `image_size` is recorded on the model as
    `model.image_size` (all networks pool globally, so any size that survives the strides works).

    A NAS-Bench-201 architecture string (`|nor_conv_3x3~0|+|...|`) builds the benchmark's own network
    (nas.models.nasbench201_network): C=16 and 17 cells (N=5 per stage) unless `channels` / `cells` are given;
    `stack`, `auxiliary` and `drop_path` do not apply to it (one skeleton, no auxiliary head, no drop-path).
    """
    if (genotype is None) == (baseline is None):
        raise ConfigError("build_model needs exactly one of genotype= or baseline=")
    if num_classes < 1 or in_channels < 1 or image_size < 1:
        raise ConfigError(f"num_classes, in_channels and image_size must be positive "
                          f"(got {num_classes}, {in_channels}, {image_size})")
    if not 0.0 <= drop_path < 1.0:
        raise ConfigError(f"drop_path must be in [0, 1), got {drop_path}")
    if is_nasbench201_arch(genotype):
        model = build_nasbench201_network(genotype, channels=channels, cells=cells, num_classes=num_classes,
                                          in_channels=in_channels)
    elif baseline is not None:
        spec = get_model(baseline, kind="baseline")
        spec.check_image_size(image_size)
        model = spec.builder(num_classes=num_classes, in_channels=in_channels)
    else:
        spec = get_model(stack, kind="stack")
        channels = int(channels if channels is not None else spec.channels)
        cells = int(cells if cells is not None else spec.cells)
        if channels < 1 or cells < 1:
            raise ConfigError(f"channels and cells must be positive, got channels={channels}, cells={cells}")
        model = spec.builder(
            resolve_genotype_for_model(genotype),
            channels=channels,
            cells=cells,
            num_classes=num_classes,
            in_channels=in_channels,
            auxiliary=auxiliary,
            drop_path=drop_path,
        )
    model.image_size = image_size
    return model
