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

KINDS = ("stack", "baseline")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    builder: Callable[..., nn.Module]
    description: str
    image_size: int
    defaults: dict = field(default_factory=dict)  # stacks: channels, cells


_MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, *, kind: str = "baseline", description: str = "", image_size: int = 32,
                   replace: bool = False, **defaults):
    """Decorator registering a model builder under `name` (see the module docstring for the builder signatures)."""
    if kind not in KINDS:
        raise ValueError(f"model kind must be one of {KINDS}, got {kind!r}")

    def add(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS and not replace:
            raise ValueError(f"model {name!r} is already registered (pass replace=True to override)")
        doc_lines = (builder.__doc__ or "").strip().splitlines()
        text = description or (doc_lines[0] if doc_lines else "")
        _MODELS[name] = ModelSpec(name, kind, builder, text, image_size, dict(defaults))
        return builder

    return add


def list_models(kind: str | None = None) -> list[ModelSpec]:
    return [spec for spec in _MODELS.values() if kind is None or spec.kind == kind]


def model_names(kind: str | None = None) -> list[str]:
    return [spec.name for spec in list_models(kind)]


def get_model(name: str, kind: str | None = None) -> ModelSpec:
    """The entry called `name`; ConfigError listing the valid names (of `kind`, when given) otherwise."""
    spec = _MODELS.get(name)
    if spec is None or (kind is not None and spec.kind != kind):
        what = {"stack": "network stack", "baseline": "baseline"}.get(kind, "model")
        raise ConfigError(f"unknown {what} {name!r}; valid: {', '.join(model_names(kind))}")
    return spec
