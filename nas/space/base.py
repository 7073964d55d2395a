"""The search-space interface every space implements, and the registry of space types.

A space is an ordered list of categorical decisions (all a sampler sees) plus the mapping between decision
vectors and candidates: `decode(choices) -> candidate`, `encode(candidate) -> choices`, exact inverses, and a
`canonical_key(candidate)` that is the same for candidates that are the same network. A space file names its
type (`type: nasnet`); a new type is one class registered with `@register_space("name")`.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from nas.errors import ConfigError
from nas.registry import Registry
from nas.space.decisions import Decision, count_combinations
from nas.space.op_registry import OPS

def _set_type(type_name: str, cls: type["SearchSpace"]) -> None:
    cls.type = type_name


SPACES: Registry[type["SearchSpace"]] = Registry("space type", discover=("nas.space",), on_register=_set_type)
DEFAULT_SPACE_TYPE = "nasnet"


def register_space(type_name: str, *, replace: bool = False):
    """Class decorator: space files with `type: <type_name>` are read by this class's `from_config` (the same as
    `@SPACES.register(type_name)`)."""
    return SPACES.register(type_name, replace=replace)


class SearchSpace(ABC):
    type: ClassVar[str]
    # Whether candidates are networks the engine builds and trains (False: answered from a table, e.g. NB201).
    trainable: ClassVar[bool] = True
    name: str
    description: str
    ops: tuple[str, ...]

    @property
    @abstractmethod
    def decisions(self) -> Sequence[Decision]:
        """The decisions, in the order decision vectors list them."""

    @abstractmethod
    def decode(self, choices: Sequence[int]) -> Any:
        """Decision vector -> candidate (a Genotype, an architecture string)."""

    @abstractmethod
    def encode(self, candidate: Any) -> tuple[int, ...]:
        """Candidate -> the decision vector that decodes to it; an error naming the problem if it is not here."""

    @abstractmethod
    def canonical_key(self, candidate: Any) -> str:
        """Identifies the network: equal for candidates that differ only in how they were written."""

    @classmethod
    @abstractmethod
    def from_config(cls, config: dict, source: str = "space") -> "SearchSpace":
        """The space a YAML mapping describes; ConfigError naming the key that is wrong."""

    @property
    def size(self) -> int:
        return count_combinations(self.decisions)

    def sample(self, rng: random.Random | np.random.Generator | int | None = None) -> tuple[int, ...]:
        """A uniformly random decision vector (from a random.Random, a numpy Generator or a seed)."""
        if isinstance(rng, random.Random):
            return tuple(rng.randrange(d.num_choices) for d in self.decisions)
        rng = np.random.default_rng(rng)
        return tuple(int(rng.integers(d.num_choices)) for d in self.decisions)

    def check_ops(self, known_ops: Iterable[str]) -> None:
        """ConfigError when the space names an op nobody registered (spaces that build networks)."""
        if not self.trainable:
            return
        known = set(known_ops)
        unknown = [op for op in self.ops if op not in known]
        if unknown:
            raise ConfigError(f"space {self.name}: unknown op(s) {', '.join(unknown)}")

    def describe_op(self, op: str) -> str:
        """A line about one of the space's ops, for `nas space`."""
        return OPS.get(op).description if op in OPS else ""

    def size_note(self) -> str:
        """What the size counts, when that is not obvious."""
        return ""


def space_from_config(config, source: str = "space") -> SearchSpace:
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: a space file must be a YAML mapping")
    space_type = config.get("type", DEFAULT_SPACE_TYPE)
    if not isinstance(space_type, str) or space_type not in SPACES:
        raise ConfigError(f"{source}: unknown space type {space_type!r} (known: {', '.join(SPACES.names())})")
    return SPACES.get(space_type).from_config(config, source)


def load_space(path) -> SearchSpace:
    """A search space from a YAML file."""
    # Start-up: nas.space loads with the `nas` command; yaml (about 10 ms) only when a space file is read.
    from nas.yaml_files import read_yaml

    return space_from_config(read_yaml(path, "space file"), str(path))
