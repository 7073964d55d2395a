"""Samplers by name: `make_sampler(name, decisions, seed=..., **options)` and `load_sampler(path)`.

Samplers see only a space's decisions, never torch models or Ray, so this package depends on `nas.space` alone.
Each sampler registers itself with `@register_sampler(name)`; a new one is one new module here, or one in the
user's code named in a search's `imports:`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from nas.samplers.base import (
    MAX_SEED,
    SAMPLERS,
    STATUSES,
    Outcome,
    Sampler,
    SearchContext,
    Suggestion,
    read_saved_sampler,
    register_sampler,
)
from nas.space.decisions import Decision

DEFAULT_SAMPLER = "tpe"


def sampler_class(name: str) -> type[Sampler]:
    """The sampler class registered as `name`; ConfigError listing the valid names otherwise."""
    return SAMPLERS.get(name)


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
    sampler.load_saved_state(payload["state"], Path(path))
    return sampler


__all__ = [
    "DEFAULT_SAMPLER",
    "MAX_SEED",
    "SAMPLERS",
    "STATUSES",
    "Outcome",
    "Sampler",
    "SearchContext",
    "Suggestion",
    "load_sampler",
    "make_sampler",
    "register_sampler",
    "sampler_class",
]
