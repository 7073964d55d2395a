"""Every baseline with its paper, scale and parameter count, ours beside the published one: what `nas baselines`
prints, what the README's table was made from, and what the tests check."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nas.models import build_model
from nas.models.profile import count_params, count_params_and_macs
from nas.models.registry import BaselineSpec, ModelSpec, list_models


@dataclass(frozen=True)
class BaselineRow:
    name: str
    scale: str
    params: int  # ours
    published: int | None
    source: str
    paper: str
    description: str
    macs: int | None = None  # ours, counted where the paper publishes multiply-adds
    published_macs: int | None = None
    published_text: str = ""  # as printed ("0.85M")
    published_macs_text: str = ""


def default_classes(spec: ModelSpec) -> int:
    """The class count a published figure refers to: ImageNet's 1000 or CIFAR-10's 10."""
    return 1000 if spec.scale == "ImageNet" else 10


def published_model(spec: BaselineSpec) -> torch.nn.Module:
    """The baseline as published (RGB, the paper's classes), built on the meta device: no memory."""
    with torch.device("meta"):
        return build_model(baseline=spec.name, num_classes=default_classes(spec), image_size=spec.image_size)


def inference_form(spec: BaselineSpec) -> torch.nn.Module:
    """The network as papers count it: as published, or, where training changes the architecture (CondenseNet's
    condensation), as it is after training."""
    model = published_model(spec)
    return model.inference_model() if hasattr(model, "inference_model") else model


def _macs(spec: BaselineSpec, model: torch.nn.Module) -> int:
    return count_params_and_macs(model, (3, spec.image_size, spec.image_size))["macs"]


def baseline_rows(names: list[str] | None = None) -> list[BaselineRow]:
    specs = [spec for spec in list_models("baseline") if names is None or spec.name in names]
    specs.sort(key=lambda spec: spec.scale != "CIFAR")  # stable: CIFAR first, each in registration order
    return [_row(spec, inference_form(spec)) for spec in specs]


def _row(spec: BaselineSpec, model: torch.nn.Module) -> BaselineRow:
    """The table's row of `spec`, its model built once for both counts."""
    return BaselineRow(spec.name, spec.scale, count_params(model), spec.published_params, spec.source, spec.paper,
                       spec.description, _macs(spec, model) if spec.published_macs else None, spec.published_macs,
                       spec.published_text, spec.published_macs_text)


def millions(count: int | None) -> str:
    if count is None:
        return "-"
    if count >= 1e9:
        return f"{count / 1e9:.3f}G"
    return f"{count / 1e6:.3f}M" if count >= 1e5 else f"{count / 1e3:.1f}K"
