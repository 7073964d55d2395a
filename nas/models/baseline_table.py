"""Every baseline with its paper, scale and parameter count, ours beside the published one: what `nas baselines`
prints, what the README's table was made from, and what the tests check.

Our counts come from nas/models/baseline_table.csv (nas.recorded_baselines), where `nas baselines --recount`
wrote them; a baseline the file does not have (a user's, or one added since) is built and counted here."""

from __future__ import annotations

import dataclasses

import torch

from nas.models import build_model
from nas.models.profile import count_params, count_params_and_macs
from nas.models.registry import BaselineSpec, ModelSpec, list_models
from nas.recorded_baselines import BaselineRow, millions, read_recorded_rows  # noqa: F401  (millions: its old home)


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
    """The table's rows: the registry's figures, and our counts as recorded where the file has them."""
    recorded = {row.name: row for row in read_recorded_rows()}
    return [_recorded_row(spec, recorded[spec.name]) if spec.name in recorded else _row(spec, inference_form(spec))
            for spec in _baseline_specs(names)]


def counted_rows(names: list[str] | None = None) -> list[BaselineRow]:
    """The table's rows with every network built and counted now: what `nas baselines --recount` records."""
    return [_row(spec, inference_form(spec)) for spec in _baseline_specs(names)]


def _baseline_specs(names: list[str] | None) -> list[BaselineSpec]:
    specs = [spec for spec in list_models("baseline") if names is None or spec.name in names]
    specs.sort(key=lambda spec: spec.scale != "CIFAR")  # stable: CIFAR first, each in registration order
    return specs


def _recorded_row(spec: BaselineSpec, recorded: BaselineRow) -> BaselineRow:
    """The row of `spec` with our counts taken from the file instead of a network built now."""
    figures = _row(spec, None)
    return dataclasses.replace(figures, params=recorded.params, macs=recorded.macs if spec.published_macs else None)


def _row(spec: BaselineSpec, model: torch.nn.Module | None) -> BaselineRow:
    """The table's row of `spec`, its model built once for both counts (no model: counts of 0, to be filled in)."""
    params = count_params(model) if model is not None else 0
    macs = _macs(spec, model) if spec.published_macs and model is not None else None
    return BaselineRow(spec.name, spec.scale, params, spec.published_params, spec.source, spec.paper,
                       spec.description, macs, spec.published_macs, spec.published_text, spec.published_macs_text)
