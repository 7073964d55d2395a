"""The model registry: cell stacks and hand-designed baselines by name, so anything that takes a model takes both.

Two kinds of entries share one namespace:

- `stack`: builds a network from a genotype, `builder(genotype, *, channels, cells, num_classes, in_channels,
  auxiliary, drop_path)`;
- `baseline`: a hand-designed network, `builder(*, num_classes, in_channels)`.

Each entry (a ModelSpec) records the input size it was designed for; a stack's (StackSpec) also its default width
and depth, a baseline's (BaselineSpec) its paper and the parameter count the paper (or torchvision, for its own definitions) publishes, so
`nas baselines`, the README's table and the tests read the same figures.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, ClassVar

from torch import nn

from nas.errors import ConfigError
from nas.registry import Registry

KINDS = ("stack", "baseline")
KIND_WORDS = {"stack": "network stack", "baseline": "baseline"}
CIFAR_MAX_IMAGE_SIZE = 64  # a network designed for 32 px inputs also takes 64 px ones (downsampled ImageNet), no more
SOURCES = ("paper", "torchvision", "")  # where a published count comes from; torchvision's must match exactly


@dataclass(frozen=True)
class ModelSpec:
    """What every model entry has: the kind's own fields are in StackSpec and BaselineSpec."""

    kind: ClassVar[str]
    name: str
    builder: Callable[..., nn.Module]
    description: str
    image_size: int  # the input size it was designed for

    @property
    def scale(self) -> str:
        return "CIFAR" if self.image_size <= CIFAR_MAX_IMAGE_SIZE else "ImageNet"


@dataclass(frozen=True)
class StackSpec(ModelSpec):
    """A network stack: builds a network from a genotype, `channels` wide and `cells` deep unless told otherwise."""

    kind: ClassVar[str] = "stack"
    channels: int
    cells: int


@dataclass(frozen=True)
class BaselineSpec(ModelSpec):
    """A hand-designed network, with the paper that designed it and the counts it published."""

    kind: ClassVar[str] = "baseline"
    paper: str = ""  # who designed it, e.g. "He et al. 2016, Deep Residual Learning ..."
    published_params: int | None = None  # None: the paper gives no count
    published_text: str = ""  # the count as printed ("0.85M"), which says how much the paper rounded
    source: str = ""  # "paper" (checked within 2%) or "torchvision" (checked exactly)
    published_macs: int | None = None  # multiply-adds per image at `image_size`, where the paper gives them
    published_macs_text: str = ""
    min_image_size: int = 1  # smallest input the network's strides or fixed layers allow
    max_image_size: int | None = None  # CIFAR-only networks: CIFAR_MAX_IMAGE_SIZE

    @property
    def params_tolerance(self) -> int:
        """How far our count may be from the published one: none from torchvision's, 2% or the paper's rounding
        (half a unit of its last printed digit: "0.8M" stands for anything in [0.75M, 0.85M]) from a paper's."""
        if self.published_params is None or self.source == "torchvision":
            return 0
        return _tolerance(self.published_params, self.published_text)

    @property
    def macs_tolerance(self) -> int:
        return 0 if self.published_macs is None else _tolerance(self.published_macs, self.published_macs_text)

    def check_image_size(self, image_size: int) -> None:
        """ConfigError in one line where the network cannot take `image_size` px inputs."""
        if self.max_image_size is not None and image_size > self.max_image_size:
            raise ConfigError(f"{self.name} is a {self.scale} network ({self.image_size} px inputs, at most "
                              f"{self.max_image_size}); {image_size} px inputs need an ImageNet-scale baseline "
                              f"(e.g. resnet50)")
        if image_size < self.min_image_size:
            raise ConfigError(f"{self.name} needs inputs of at least {self.min_image_size} px, got {image_size}")


# Built-in stacks live in nas.models.networks, baselines in the modules of nas.models.zoo (one per family).
MODELS: Registry[ModelSpec] = Registry("model", discover=("nas.models", "nas.models.zoo"))


# "Gi": 2^30, for papers whose counter divided by 1024^3 (HRNet's "3.99 GFLOPs" are 4.28 billion multiply-adds)
SUFFIXES = {"K": 10**3, "M": 10**6, "G": 10**9, "GI": 2**30}


def _split_count(printed: str) -> tuple[str, int]:
    """("0.85", 10**6) from "0.85M": the number as printed and the scale of its suffix."""
    text = printed.strip().upper()
    suffix = text.lstrip("0123456789.")
    return text[:len(text) - len(suffix)], SUFFIXES.get(suffix, 1)


def parse_count(count: int | float | str) -> int:
    """A count as a number: 850000, or as papers print it, "0.85M", "60K", "1.8G" or "3.99Gi"."""
    if isinstance(count, str):
        number, scale = _split_count(count)
        return round(float(number) * scale)
    return int(count)


def _tolerance(count: int, printed: str) -> int:
    return max(round(0.02 * count), _half_unit(printed))


def _half_unit(printed: str) -> int:
    """Half a unit of the last digit of a count printed as "0.85M": 5000."""
    if not printed.strip():
        return 0
    number, scale = _split_count(printed)
    decimals = len(number.split(".")[1]) if "." in number else 0
    return round(scale * 10 ** -decimals / 2)


def register_model(name: str, *, kind: str = "baseline", description: str = "", image_size: int = 32,
                   replace: bool = False, **fields):
    """Decorator registering a model builder under `name` (see the module docstring for the builder signatures).

    Stacks (`kind="stack"`) take their default `channels` and `cells`. Baselines take `paper`, citing the design,
    `published_params`, its published parameter count, a number or a text as the paper prints it ("0.85M"), from
    `source` "paper" (the default when a count is given) or "torchvision", `published_macs`, the multiply-adds per
    image the paper gives at `image_size`, and `min_image_size` / `max_image_size`: a network designed for small
    inputs (`image_size` up to CIFAR_MAX_IMAGE_SIZE) refuses larger ones unless `max_image_size` says otherwise."""
    if kind not in KINDS:
        raise ValueError(f"model kind must be one of {KINDS}, got {kind!r}")
    make = _stack_spec if kind == "stack" else _baseline_spec
    try:
        spec = make(name, None, description, image_size, **fields)  # the builder comes with the decorated function
    except TypeError as error:  # a keyword of the other kind, or a stack without channels= / cells=
        raise TypeError(f"{KIND_WORDS[kind]} {name!r}: {str(error).replace(make.__name__ + '()', 'register_model')}")

    def add(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        doc_lines = (builder.__doc__ or "").strip().splitlines()
        text = description or (doc_lines[0] if doc_lines else "")
        MODELS.register(name, dataclasses.replace(spec, builder=builder, description=text), replace=replace)
        return builder

    return add


def _stack_spec(name, builder, description, image_size, *, channels: int, cells: int) -> StackSpec:
    return StackSpec(name, builder, description, image_size, channels, cells)


def _baseline_spec(name, builder, description, image_size, *, paper: str = "",
                   published_params: int | str | None = None, source: str | None = None,
                   published_macs: int | str | None = None, min_image_size: int = 1,
                   max_image_size: int | None = None) -> BaselineSpec:
    source = source if source is not None else ("paper" if published_params is not None else "")
    if source not in SOURCES:
        raise ValueError(f"source of a published count must be one of {SOURCES}, got {source!r}")
    if max_image_size is None and image_size <= CIFAR_MAX_IMAGE_SIZE:
        max_image_size = CIFAR_MAX_IMAGE_SIZE
    return BaselineSpec(
        name, builder, description, image_size, paper,
        published_params=parse_count(published_params) if published_params is not None else None,
        published_text=published_params if isinstance(published_params, str) else "",
        source=source,
        published_macs=parse_count(published_macs) if published_macs is not None else None,
        published_macs_text=published_macs if isinstance(published_macs, str) else "",
        min_image_size=min_image_size, max_image_size=max_image_size)


def register_baseline(name: str, make: Callable[[int, int], nn.Module], **entry) -> None:
    """Register the baseline `make(num_classes, in_channels)` under `name`, `entry` as for register_model: for the
    members of a family, `register_baseline(name, functools.partial(Network, depth), ...)`."""

    def build(*, num_classes: int, in_channels: int = 3) -> nn.Module:
        return make(num_classes, in_channels)

    register_model(name, kind="baseline", **entry)(build)


def list_models(kind: str | None = None) -> list[ModelSpec]:
    return [spec for _, spec in MODELS.items() if kind is None or spec.kind == kind]


def model_names(kind: str | None = None) -> list[str]:
    return [spec.name for spec in list_models(kind)]


def get_model(name: str, kind: str | None = None) -> ModelSpec:
    """The entry called `name`; ConfigError listing the valid names (of `kind`, when given) otherwise."""
    spec = MODELS.get(name) if name in MODELS else None
    if spec is None or (kind is not None and spec.kind != kind):
        raise ConfigError(f"unknown {KIND_WORDS.get(kind, 'model')} {name!r}; valid: {', '.join(model_names(kind))}")
    return spec
