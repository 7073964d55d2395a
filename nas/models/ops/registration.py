"""`register_op`, which adds a builder to the op registry (nas.space.op_registry), and the lookups of ops.

Its own module, so that the built-in ops (builtin.py), which the package imports, import it without importing the
package that is still being imported; `nas.models.ops` re-exports every name here.
"""

from __future__ import annotations

from torch import nn

from nas.errors import GenotypeError
from nas.space.op_registry import OPS, OpBuilder, OpSpec


def register_op(name: str, builder: OpBuilder | None = None, *, description: str | None = None,
                aliases: tuple[str, ...] | list[str] = (), replace: bool = False):
    """Register `builder(C, stride, affine) -> nn.Module` under `name` (and its aliases) in the op registry.

    Use as a decorator (`@register_op("name", description=...)`) or a call (`register_op("name", builder)`).
    The description defaults to the first line of the builder's docstring. Registering a taken name is an error
    unless `replace=True`.
    """

    def add(function: OpBuilder) -> OpBuilder:
        if not callable(function):
            raise TypeError(f"op {name!r}: the builder must be callable")
        doc_lines = (function.__doc__ or "").strip().splitlines()
        text = description if description is not None else (doc_lines[0] if doc_lines else "")
        OPS.register(name, OpSpec(name, function, text), aliases=aliases, replace=replace)
        return function

    return add if builder is None else add(builder)


def known_op_names() -> set[str]:
    """Every name a genotype may use: registered names and their aliases."""
    return OPS.all_names()


def list_ops() -> list[OpSpec]:
    """Registered ops in registration order (built-ins first), each with its description."""
    return [spec for _, spec in OPS.items()]


def get_op(name: str) -> OpSpec:
    return OPS.get(name)


def build_op(name: str, channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """Build the op `name` for `channels` channels at `stride` (1 or 2)."""
    if stride not in (1, 2):
        raise GenotypeError(f"op {name!r}: stride must be 1 or 2, got {stride}")
    return get_op(name).builder(channels, stride, affine)
