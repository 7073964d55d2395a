"""A new search-space type: each cell is a chain, block j reads block j-1 (or the cell's input for block 0)
through one op and adds the previous cell's output through a second op. Decisions: the two ops of each block."""

from __future__ import annotations

from dataclasses import dataclass

from nas.space import SearchSpace, register_space
from nas.space.decisions import Decision
from nas.space.genotype import Block, Cell, Genotype


@register_space("chain")
@dataclass(frozen=True)
class ChainSpace(SearchSpace):
    name: str
    ops: tuple[str, ...]
    blocks: int
    description: str = "a chain of blocks per cell"

    @property
    def decisions(self):
        return [Decision(f"{cell}.b{block}.{branch}", self.ops)
                for cell in ("normal", "reduce") for block in range(self.blocks) for branch in ("op_a", "op_b")]

    def decode(self, choices):
        picks = iter(self.ops[choice] for choice in choices)
        cells = [Cell(tuple(Block(1 + block, next(picks), 0, next(picks)) for block in range(self.blocks)))
                 for _ in range(2)]
        return Genotype(*cells)

    def encode(self, genotype):
        return tuple(self.ops.index(op) for cell in (genotype.normal, genotype.reduce)
                     for block in cell.blocks for op in (block.op_a, block.op_b))

    def canonical_key(self, genotype):
        return genotype.hash()

    @classmethod
    def from_config(cls, config, source="space"):
        return cls(str(config.get("name", "chain")), tuple(config["ops"]), int(config.get("blocks", 2)))
