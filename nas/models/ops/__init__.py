"""Ops: `register_op`, which adds a builder to the op registry (nas.space.op_registry), and the lookups.

An op builder takes `(C, stride, affine)` and returns a module that maps N x C x H x W to N x C x H/s x W/s.
Every module of this package is imported the first time the op registry is asked for anything, so an op
module placed here registers without anyone importing it: the built-in ones are in `builtin.py` (imported with
the package, so they come first). Users add their own ops, in a module here or in one of theirs named in a
config's `imports:`, with the same decorator the built-in ones use:

    from nas.models.ops import register_op

    @register_op("mb_conv_3x3", description="inverted bottleneck, expansion 3")
    def mb_conv_3x3(C, stride, affine):
        return MyInvertedBottleneck(C, stride, expansion=3, affine=affine)

after which `mb_conv_3x3` may appear in genotypes and search spaces like any built-in op.
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


from nas.models.ops import builtin as _builtin  # noqa: E402,F401  (registers the built-in ops, after register_op)
