"""The NASNet search space: B blocks per cell, each picking two inputs, two ops and how to combine them.

NASNet-style space file (search_spaces/nasnet.yaml):

    name: nasnet
    type: nasnet            # the default; `nasbench201` selects the NAS-Bench-201 space
    blocks: 5               # B blocks per cell
    ops: [skip_connect, sep_conv_3x3, ...]
    combine: [add, concat]  # how a block merges its two branches
    cells: [normal, reduce] # the cells that are searched (both by default)

Each searched cell contributes, per block j, the decisions `<cell>.b<j>.input_a`, `.op_a`, `.input_b`, `.op_b`
and, when there is more than one way to combine, `.combine`. Inputs range over the two previous cells' outputs and
the blocks before j, so every decision vector decodes to a valid cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nas.errors import ConfigError, GenotypeError
from nas.space.base import SearchSpace, register_space
from nas.space.decisions import Decision, check_choices
from nas.space.genotype import CELL_NAMES, COMBINES, NUM_CELL_INPUTS, Block, Cell, Genotype
from nas.space.op_registry import canonical_op_name

NASNET_KEYS = {"name", "type", "description", "blocks", "ops", "combine", "cells"}


@register_space("nasnet")
@dataclass(frozen=True)
class NasnetSpace(SearchSpace):
    name: str
    num_blocks: int
    ops: tuple[str, ...]
    combines: tuple[str, ...] = ("add",)
    searched_cells: tuple[str, ...] = CELL_NAMES
    description: str = ""

    @property
    def decisions(self) -> list[Decision]:
        decisions = []
        for cell in self.searched_cells:
            for block in range(self.num_blocks):
                inputs = tuple(str(node) for node in range(NUM_CELL_INPUTS + block))
                prefix = f"{cell}.b{block}"
                decisions += [
                    Decision(f"{prefix}.input_a", inputs),
                    Decision(f"{prefix}.op_a", self.ops),
                    Decision(f"{prefix}.input_b", inputs),
                    Decision(f"{prefix}.op_b", self.ops),
                ]
                if len(self.combines) > 1:
                    decisions.append(Decision(f"{prefix}.combine", self.combines))
        return decisions

    def decode(self, choices: Sequence[int]) -> Genotype:
        try:
            values = iter(check_choices(self.decisions, choices))
        except ValueError as error:
            raise ConfigError(f"space {self.name}: {error}") from None
        cells = {}
        for cell in self.searched_cells:
            blocks = []
            for _ in range(self.num_blocks):
                input_a, op_a, input_b, op_b = (next(values) for _ in range(4))
                combine = self.combines[next(values)] if len(self.combines) > 1 else self.combines[0]
                blocks.append(Block(input_a, self.ops[op_a], input_b, self.ops[op_b], combine))
            cells[cell] = Cell(tuple(blocks))
        # A space that searches one cell uses it for both roles (as PNASNet does).
        return Genotype(cells.get("normal", cells.get("reduce")), cells.get("reduce", cells.get("normal")))

    def encode(self, genotype: Genotype) -> tuple[int, ...]:
        """The decisions that decode to `genotype`; GenotypeError when it is not in this space."""
        if len(self.searched_cells) == 1 and genotype.normal != genotype.reduce:
            raise GenotypeError(f"space {self.name} searches one cell, but the genotype's two cells differ")
        choices = []
        for cell_name in self.searched_cells:
            cell = genotype.cells()[cell_name]
            where = f"space {self.name}, {cell_name} cell"
            if len(cell.blocks) != self.num_blocks:
                raise GenotypeError(f"{where}: has {len(cell.blocks)} blocks, the space has {self.num_blocks}")
            implicit_outputs = Cell(cell.blocks).output_nodes()
            if cell.concat is not None and tuple(sorted(cell.concat)) != implicit_outputs:
                raise GenotypeError(f"{where}: output nodes {list(cell.concat)} differ from the unused blocks "
                                    f"{list(implicit_outputs)} this space always concatenates")
            for index, block in enumerate(cell.blocks):
                for op in (block.op_a, block.op_b):
                    if op not in self.ops:
                        raise GenotypeError(f"{where}, block {index}: op {op!r} is not in the space")
                if block.combine not in self.combines:
                    raise GenotypeError(f"{where}, block {index}: combine {block.combine!r} is not in the space")
                for source in (block.input_a, block.input_b):
                    if not 0 <= source < NUM_CELL_INPUTS + index:
                        raise GenotypeError(f"{where}, block {index}: input {source} is not an earlier node")
                choices += [block.input_a, self.ops.index(block.op_a), block.input_b, self.ops.index(block.op_b)]
                if len(self.combines) > 1:
                    choices.append(self.combines.index(block.combine))
        return tuple(choices)

    def canonical_key(self, genotype: Genotype) -> str:
        return genotype.hash()

    def size_note(self) -> str:
        return "each one decision vector (cells differing only in block or branch order count once per order)"

    @classmethod
    def from_config(cls, config: dict, source: str = "space") -> "NasnetSpace":
        unknown = set(config) - NASNET_KEYS
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(sorted(NASNET_KEYS))})")
        blocks = config.get("blocks")
        if not isinstance(blocks, int) or isinstance(blocks, bool) or blocks < 1:
            raise ConfigError(f"{source}: 'blocks' must be a whole number of at least 1, got {blocks!r}")
        ops = config.get("ops")
        if not isinstance(ops, list) or not ops or not all(isinstance(op, str) for op in ops):
            raise ConfigError(f"{source}: 'ops' must be a non-empty list of op names")
        ops = tuple(canonical_op_name(op) for op in ops)
        if len(set(ops)) != len(ops):
            raise ConfigError(f"{source}: 'ops' lists an op twice")
        combines = config.get("combine", ["add"])
        combines = tuple([combines] if isinstance(combines, str) else combines)
        bad = [combine for combine in combines if combine not in COMBINES]
        if bad or not combines:
            raise ConfigError(f"{source}: 'combine' must be a list of {', '.join(COMBINES)}, got {combines!r}")
        cells = tuple(config.get("cells", CELL_NAMES))
        if not cells or any(cell not in CELL_NAMES for cell in cells) or len(set(cells)) != len(cells):
            raise ConfigError(f"{source}: 'cells' must name normal and/or reduce, got {list(cells)!r}")
        return cls(str(config.get("name", Path(source).stem)), blocks, ops, combines, cells,
                   str(config.get("description", "")))
