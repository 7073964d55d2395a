"""The model registry: cell stacks and hand-designed baselines by name, so anything that takes a model takes both.

Two kinds of entries share one namespace:

- `stack`: builds a network from a genotype, `builder(genotype, *, channels, cells, num_classes, in_channels,
  auxiliary, drop_path)`;
- `baseline`: a hand-designed network, `builder(*, num_classes, in_channels)`.

Each entry also records the input size it was designed for, and stacks their default width and depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from nas.errors import ConfigError
from nas.registry import Registry

KINDS = ("stack", "baseline")
KIND_WORDS = {"stack": "network stack", "baseline": "baseline"}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    builder: Callable[..., nn.Module]
    description: str
    image_size: int
    defaults: dict = field(default_factory=dict)  # stacks: channels, cells


# Built-in stacks live in nas.models.networks, baselines in nas.models.baselines (and any module of the package).
MODELS: Registry[ModelSpec] = Registry("model", discover=("nas.models",))


def register_model(name: str, *, kind: str = "baseline", description: str = "", image_size: int = 32,
                   replace: bool = False, **defaults):
    """Decorator registering a model builder under `name` (see the module docstring for the builder signatures)."""
    if kind not in KINDS:
        raise ValueError(f"model kind must be one of {KINDS}, got {kind!r}")

    def add(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        doc_lines = (builder.__doc__ or "").strip().splitlines()
        text = description or (doc_lines[0] if doc_lines else "")
        MODELS.register(name, ModelSpec(name, kind, builder, text, image_size, dict(defaults)), replace=replace)
        return builder

    return add


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
