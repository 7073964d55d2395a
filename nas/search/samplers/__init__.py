"""Samplers by name: `make_sampler(name, decisions, seed=..., **options)` and `load_sampler(path)`.

Each sampler lives in its own module, imported only when asked for, so `random` never pays for torch.
"""

from __future__ import annotations

import importlib
import os
from typing import Sequence

from nas.errors import ConfigError
from nas.search.samplers.base import Outcome, Sampler, Suggestion, read_saved_sampler
from nas.space.decisions import Decision

# name -> "module:Class"
_REGISTRY = {
    "tpe": "nas.search.samplers.tpe:TpeSampler",
    "random": "nas.search.samplers.random_search:RandomSampler",
    "nsga2": "nas.search.samplers.nsga2:Nsga2Sampler",
    "evolution": "nas.search.samplers.evolution:EvolutionSampler",
    "controller": "nas.search.samplers.controller:ControllerSampler",
}
SAMPLER_NAMES: tuple[str, ...] = tuple(_REGISTRY)
DEFAULT_SAMPLER = "tpe"


def sampler_class(name: str) -> type[Sampler]:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown sampler {name!r}; valid samplers: {', '.join(SAMPLER_NAMES)}")
    module_name, class_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_sampler(name: str, decisions: Sequence[Decision], *, seed: int = 0, **options) -> Sampler:
    """A sampler over `decisions`; unknown names or options raise ConfigError naming the valid ones."""
    return sampler_class(name)(decisions, seed=seed, **options)


def load_sampler(path: str | os.PathLike, **option_overrides) -> Sampler:
    """Rebuild a sampler written by `Sampler.save`, with the space, seed and options it was saved with.

    `option_overrides` replace saved options that name places rather than behaviour (an Optuna `storage` whose
    folder has moved)."""
    payload = read_saved_sampler(path)
    decisions = [Decision(name, tuple(choices)) for name, choices in payload["decisions"]]
    options = {**payload["options"], **option_overrides}
    sampler = make_sampler(payload["sampler"], decisions, seed=payload["seed"], **options)
    sampler.load_state_dict(payload["state"])
    return sampler


__all__ = [
    "DEFAULT_SAMPLER",
    "SAMPLER_NAMES",
    "Outcome",
    "Sampler",
    "Suggestion",
    "load_sampler",
    "make_sampler",
    "sampler_class",
]
