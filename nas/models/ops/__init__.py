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

from nas.models.ops import builtin as _builtin  # noqa: F401  (registers the built-in ops, before any other op module)
from nas.models.ops.registration import build_op, get_op, known_op_names, list_ops, register_op

__all__ = ["build_op", "get_op", "known_op_names", "list_ops", "register_op"]
