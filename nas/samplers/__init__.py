"""Samplers by name: `make_sampler(name, decisions, seed=..., **options)` and `load_sampler(path)`.

Samplers see only a space's decisions, never torch models or Ray, so this package depends on `nas.space` alone.
Each sampler registers itself with `@register_sampler(name)`; a new one is one new module here, or one in the
user's code named in a search's `imports:`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from nas.samplers.base import (
    MAX_SEED,
    SAMPLERS,
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


def moved_config_keys() -> dict[str, str]:
    """Config keys of older versions that some sampler reads as an option now: dotted old key -> option."""
    return {old: option for _, cls in SAMPLERS.items() for old, option in cls.moved_config_keys.items()}


def options_from_moved_keys(name: str, old: Mapping[str, Any]) -> dict:
    """The options that old config keys (`old`: dotted key -> value) give sampler `name`: only those its class
    maps to an option, and only values other than that option's default, so an old experiment file (which lists
    every key) resumes with the options a new one has. A sampler not registered yet (a user's) gets none: these
    keys were never its options."""
    cls = SAMPLERS.get(name) if name in SAMPLERS else None
    moved = cls.moved_config_keys if cls is not None else {}
    options = {moved[key]: value for key, value in old.items() if key in moved}
    return {option: value for option, value in options.items() if value != cls.defaults.get(option)}


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
    "Outcome",
    "Sampler",
    "SearchContext",
    "Suggestion",
    "load_sampler",
    "make_sampler",
    "moved_config_keys",
    "options_from_moved_keys",
    "register_sampler",
    "sampler_class",
]
