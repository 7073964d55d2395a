"""The op registry: every op a cell may place on an edge, by name and alias, with its builder.

Names and aliases have this one owner. The space layer reads it to write genotypes and spaces with canonical op
names (so an alias, a user's included, never changes a cell's hash); the package `nas.models.ops` registers the
built-in builders, and users register theirs with `nas.models.ops.register_op`. Every module of that package is
imported the first time the registry is asked, so a genotype read anywhere knows them, and an op module added to
the package registers without anyone importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from nas.errors import GenotypeError
from nas.registry import Registry

# builder(C, stride, affine) -> torch module mapping N x C x H x W to N x C x H/stride x W/stride
OpBuilder = Callable[[int, int, bool], Any]


@dataclass(frozen=True)
class OpSpec:
    name: str
    builder: OpBuilder
    description: str


OPS: Registry[OpSpec] = Registry("op", discover=("nas.models.ops",), error=GenotypeError)


def canonical_op_name(name: str) -> str:
    """The registered name behind an alias (`identity` -> `skip_connect`); other names unchanged."""
    return OPS.canonical(name)
