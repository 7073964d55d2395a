"""Genotypes: plain immutable data describing a normal and a reduction cell.

A cell has B blocks. Block j reads two nodes, applies one op to each and combines the results (`add`, or `concat`
followed by a 1x1 projection). Node 0 is the output of the cell two back, node 1 the previous cell's output and
node 2+j the output of block j. The cell's output concatenates `concat` when given (DARTS genotypes list it),
otherwise every block output no other block reads (the NASNet rule).

One-line form, used in tables and on the command line:

    normal: add(sep_conv_3x3@0, sep_conv_3x3@1) concat(skip_connect@0, dil_conv_3x3@2) -> 2,3 | reduce: ...

The `-> 2,3` part is omitted when the NASNet rule applies.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable

from nas.errors import GenotypeError
from nas.space.op_registry import canonical_op_name  # aliases are read as the names they stand for

COMBINES = ("add", "concat")
NUM_CELL_INPUTS = 2  # the two previous cells' outputs
CELL_NAMES = ("normal", "reduce")


@dataclass(frozen=True)
class Block:
    input_a: int
    op_a: str
    input_b: int
    op_b: str
    combine: str = "add"

    def branches(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return (self.op_a, self.input_a), (self.op_b, self.input_b)

    def __str__(self) -> str:
        return f"{self.combine}({self.op_a}@{self.input_a}, {self.op_b}@{self.input_b})"


@dataclass(frozen=True)
class Cell:
    blocks: tuple[Block, ...]
    concat: tuple[int, ...] | None = None  # None: the NASNet rule picks the unused block outputs

    def __post_init__(self):
        object.__setattr__(self, "blocks", tuple(self.blocks))
        if self.concat is not None:
            object.__setattr__(self, "concat", tuple(int(node) for node in self.concat))

    @property
    def num_nodes(self) -> int:
        return NUM_CELL_INPUTS + len(self.blocks)

    def used_nodes(self) -> set[int]:
        return {node for block in self.blocks for node in (block.input_a, block.input_b)}

    def output_nodes(self) -> tuple[int, ...]:
        if self.concat is not None:
            return self.concat
        used = self.used_nodes()
        return tuple(node for node in range(NUM_CELL_INPUTS, self.num_nodes) if node not in used)

    def ops(self) -> set[str]:
        return {op for block in self.blocks for op in (block.op_a, block.op_b)}

    def validate(self, cell_name: str, known_ops: Iterable[str] | None = None) -> None:
        """Raise GenotypeError naming the cell, the block and the problem."""
        if not self.blocks:
            raise GenotypeError(f"{cell_name} cell: has no blocks (B must be at least 1)")
        known = set(known_ops) if known_ops is not None else None
        for index, block in enumerate(self.blocks):
            where = f"{cell_name} cell, block {index}"
            node = NUM_CELL_INPUTS + index
            for side, source in (("input_a", block.input_a), ("input_b", block.input_b)):
                if not isinstance(source, int) or source < 0:
                    raise GenotypeError(f"{where}: {side} {source!r} is not a node index (0, 1, or 2+j for block j)")
                if source >= node:
                    raise GenotypeError(
                        f"{where}: {side} reads node {source}, which is not computed before this block "
                        f"(allowed: 0..{node - 1})"
                    )
            if block.combine not in COMBINES:
                raise GenotypeError(f"{where}: combine {block.combine!r} is not one of {', '.join(COMBINES)}")
            for op in (block.op_a, block.op_b):
                if known is not None and op not in known:
                    raise GenotypeError(f"{where}: unknown op {op!r}")
        if self.concat is not None:
            if not self.concat:
                raise GenotypeError(f"{cell_name} cell: the output node list is empty")
            for node in self.concat:
                if not 0 <= node < self.num_nodes:
                    raise GenotypeError(f"{cell_name} cell: output node {node} does not exist (0..{self.num_nodes - 1})")
        elif not self.output_nodes():
            raise GenotypeError(f"{cell_name} cell: no block output is left unused, so the cell has no output")

    # --- one-line text form -------------------------------------------------------------------------------------
    def __str__(self) -> str:
        text = " ".join(str(block) for block in self.blocks)
        if self.concat is not None:
            text += " -> " + ",".join(str(node) for node in self.concat)
        return text

    @classmethod
    def parse(cls, text: str, cell_name: str = "cell") -> "Cell":
        body, arrow, outputs = text.partition("->")
        blocks = []
        for match_index, match in enumerate(_BLOCK_PATTERN.finditer(body)):
            combine, op_a, input_a, op_b, input_b = match.groups()
            blocks.append(Block(int(input_a), canonical_op_name(op_a), int(input_b), canonical_op_name(op_b), combine))
        leftover = _BLOCK_PATTERN.sub("", body).strip()
        if leftover:
            raise GenotypeError(f"{cell_name} cell: cannot parse {_excerpt(leftover)}; expected blocks like "
                                f"add(op@0, op@1)")
        concat = None
        if arrow:
            if re.fullmatch(r"\s*(\d{1,9}\s*,\s*)*\d{1,9}\s*,?\s*", outputs) is None:
                raise GenotypeError(f"{cell_name} cell: output list {_excerpt(outputs)} is not comma-separated "
                                    f"node numbers")
            concat = tuple(int(node) for node in re.findall(r"\d+", outputs))
        return cls(tuple(blocks), concat)

    # --- dict form (YAML / JSON) --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = {"blocks": [[b.input_a, b.op_a, b.input_b, b.op_b, b.combine] for b in self.blocks]}
        if self.concat is not None:
            data["concat"] = list(self.concat)
        return data

    @classmethod
    def from_dict(cls, data, cell_name: str = "cell") -> "Cell":
        if isinstance(data, str):
            return cls.parse(data, cell_name)
        if not isinstance(data, dict) or "blocks" not in data:
            raise GenotypeError(f"{cell_name} cell: expected a mapping with 'blocks' (and optional 'concat')")
        unknown = set(data) - {"blocks", "concat"}
        if unknown:
            raise GenotypeError(f"{cell_name} cell: unknown key(s) {', '.join(sorted(unknown))}")
        entries = data["blocks"] or []
        if not isinstance(entries, list):
            raise GenotypeError(f"{cell_name} cell: blocks must be a list of blocks, got {entries!r}")
        blocks = [_block_from_entry(entry, f"{cell_name} cell, block {index}") for index, entry in enumerate(entries)]
        concat = data.get("concat")
        if concat is not None and not (isinstance(concat, list) and all(map(_is_whole, concat))):
            raise GenotypeError(f"{cell_name} cell: concat must be a list of node numbers, got {concat!r}")
        return cls(tuple(blocks), tuple(concat) if concat is not None else None)

    # --- canonical form -----------------------------------------------------------------------------------------
    def canonical(self) -> "Cell":
        """The same cell with blocks in a fixed topological order and each block's branches sorted.

        Cells that differ only in the order of their blocks, or of a block's two branches, have the same canonical
        form. The output list is made explicit so the NASNet rule and an equal explicit list compare equal.
        """
        best_key, best_cell = None, None
        for order in _topological_orders(self.blocks):
            cell = self._relabelled(order)
            key = _cell_key(cell)
            if best_key is None or key < best_key:
                best_key, best_cell = key, cell
        return best_cell

    def _relabelled(self, order: tuple[int, ...]) -> "Cell":
        new_index = {node: node for node in range(NUM_CELL_INPUTS)}
        for position, old in enumerate(order):
            new_index[NUM_CELL_INPUTS + old] = NUM_CELL_INPUTS + position
        blocks = []
        for old in order:
            block = self.blocks[old]
            (op_a, in_a), (op_b, in_b) = sorted(((canonical_op_name(block.op_a), new_index[block.input_a]),
                                                 (canonical_op_name(block.op_b), new_index[block.input_b])),
                                                key=lambda b: (b[1], b[0]))
            blocks.append(Block(in_a, op_a, in_b, op_b, block.combine))
        concat = tuple(sorted(new_index[node] for node in self.output_nodes()))
        return Cell(tuple(blocks), concat)


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _block_from_entry(entry, where: str) -> Block:
    """A block from its YAML form: [input_a, op_a, input_b, op_b(, combine)] or a mapping of those keys."""
    if isinstance(entry, dict):
        entry = [entry.get(key) for key in ("input_a", "op_a", "input_b", "op_b", "combine")]
        entry[4] = entry[4] or "add"
    if not isinstance(entry, (list, tuple)) or len(entry) not in (4, 5):
        raise GenotypeError(f"{where}: expected [input_a, op_a, input_b, op_b, combine], got {entry!r}")
    input_a, op_a, input_b, op_b, *rest = entry
    if not (_is_whole(input_a) and _is_whole(input_b)):
        raise GenotypeError(f"{where}: inputs must be integers, got {entry!r}")
    return Block(input_a, canonical_op_name(str(op_a)), input_b, canonical_op_name(str(op_b)),
                 rest[0] if rest else "add")


_BLOCK_PATTERN = re.compile(
    r"(add|concat)\(\s*([A-Za-z0-9_]+)\s*@\s*(\d{1,9})\s*,\s*([A-Za-z0-9_]+)\s*@\s*(\d{1,9})\s*\)"
)

# Beyond this many blocks, trying every topological order gets expensive; a greedy order is used instead.
_MAX_BLOCKS_FOR_EXHAUSTIVE_CANONICAL = 7


def _topological_orders(blocks: tuple[Block, ...]):
    """Every order of the blocks in which each block comes after the blocks it reads."""
    count = len(blocks)
    needs = [{node - NUM_CELL_INPUTS for node in (b.input_a, b.input_b) if node >= NUM_CELL_INPUTS} for b in blocks]
    if count > _MAX_BLOCKS_FOR_EXHAUSTIVE_CANONICAL:
        yield tuple(range(count))
        return

    def extend(prefix: list[int], placed: set[int]):
        if len(prefix) == count:
            yield tuple(prefix)
            return
        for candidate in range(count):
            if candidate not in placed and needs[candidate] <= placed:
                prefix.append(candidate)
                placed.add(candidate)
                yield from extend(prefix, placed)
                placed.discard(candidate)
                prefix.pop()

    yield from extend([], set())


def _cell_key(cell: Cell):
    return tuple((b.input_a, b.op_a, b.input_b, b.op_b, b.combine) for b in cell.blocks), cell.concat


@dataclass(frozen=True)
class Genotype:
    normal: Cell
    reduce: Cell

    def cells(self) -> dict[str, Cell]:
        return {"normal": self.normal, "reduce": self.reduce}

    def ops(self) -> set[str]:
        return self.normal.ops() | self.reduce.ops()

    def validate(self, known_ops: Iterable[str] | None = None) -> "Genotype":
        known = list(known_ops) if known_ops is not None else None
        for name, cell in self.cells().items():
            cell.validate(name, known)
        return self

    def __str__(self) -> str:
        return f"normal: {self.normal} | reduce: {self.reduce}"

    @classmethod
    def parse(cls, text: str) -> "Genotype":
        parts = {}
        for part in text.split("|"):
            name, colon, body = part.partition(":")
            name = name.strip()
            if not colon or name not in CELL_NAMES:
                raise GenotypeError(f"cannot parse genotype part {part.strip()!r}; expected 'normal: ... | reduce: ...'")
            parts[name] = Cell.parse(body, name)
        missing = [name for name in CELL_NAMES if name not in parts]
        if missing:
            raise GenotypeError(f"genotype has no {' or '.join(missing)} cell")
        return cls(parts["normal"], parts["reduce"])

    def to_dict(self) -> dict:
        return {name: cell.to_dict() for name, cell in self.cells().items()}

    @classmethod
    def from_dict(cls, data) -> "Genotype":
        if not isinstance(data, dict):
            raise GenotypeError("a genotype must be a mapping with 'normal' and 'reduce' cells")
        if "genotype" in data:  # files may wrap it with a name and a source
            return cls.from_dict(data["genotype"]) if not isinstance(data["genotype"], str) else cls.parse(data["genotype"])
        missing = [name for name in CELL_NAMES if name not in data]
        if missing:
            raise GenotypeError(f"genotype has no {' or '.join(missing)} cell")
        return cls(Cell.from_dict(data["normal"], "normal"), Cell.from_dict(data["reduce"], "reduce"))

    def canonical(self) -> "Genotype":
        return Genotype(self.normal.canonical(), self.reduce.canonical())

    def hash(self) -> str:
        """Identifies the network whatever order its blocks or branches were written in."""
        return hashlib.sha256(str(self.canonical()).encode()).hexdigest()[:16]

    # --- DARTS format -------------------------------------------------------------------------------------------
    def to_darts(self) -> str:
        parts = []
        for name, cell in self.cells().items():
            if any(block.combine != "add" for block in cell.blocks):
                raise GenotypeError(f"{name} cell: the DARTS format only expresses blocks that add their branches")
            pairs = ", ".join(f"('{op}', {node})" for block in cell.blocks for op, node in block.branches())
            parts.append(f"{name}=[{pairs}], {name}_concat={list(cell.output_nodes())}")
        return f"Genotype({', '.join(parts)})"

    @classmethod
    def from_darts(cls, text: str) -> "Genotype":
        """Parse `Genotype(normal=[(op, input), ...], normal_concat=[...], reduce=[...], reduce_concat=[...])`."""
        fields = _darts_fields(text)
        cells = {}
        for name in CELL_NAMES:
            if name not in fields:
                raise GenotypeError(f"DARTS genotype has no {name}=[...] list")
            blocks = _darts_blocks(name, fields[name])
            concat = fields.get(f"{name}_concat")
            cells[name] = Cell(blocks, _darts_concat(f"{name}_concat", concat, len(blocks)) if concat else None)
        return cls(cells["normal"], cells["reduce"])


# The DARTS form, read strictly: anything it does not consist of is an error, not silently skipped.
_DARTS_FIELD = re.compile(r"\s*(\w+)\s*=\s*(\[[^\[\]]*\]|range\(\s*\d{1,9}\s*,\s*\d{1,9}\s*\))\s*(?:,|$)")
_DARTS_PAIR = re.compile(r"\(\s*['\"]([A-Za-z0-9_]+)['\"]\s*,\s*(\d{1,9})\s*\)")
_DARTS_NAMES = (*CELL_NAMES, *(f"{name}_concat" for name in CELL_NAMES))


def _excerpt(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _darts_fields(text: str) -> dict[str, str]:
    """`Genotype(name=value, ...)` as {name: value text}."""
    body = text.strip()
    if not (body.startswith("Genotype(") and body.endswith(")")):
        raise GenotypeError("a DARTS genotype reads Genotype(normal=[...], normal_concat=[...], reduce=[...], ...)")
    body, position, fields = body[len("Genotype("):-1].rstrip(), 0, {}
    while position < len(body):
        match = _DARTS_FIELD.match(body, position)
        if not match:
            raise GenotypeError(f"DARTS genotype: cannot parse {_excerpt(body[position:])}; expected name=[...]")
        if match.group(1) not in _DARTS_NAMES:
            raise GenotypeError(f"DARTS genotype: unknown field {match.group(1)!r} (known: {', '.join(_DARTS_NAMES)})")
        fields[match.group(1)] = match.group(2)
        position = match.end()
    return fields


def _darts_blocks(name: str, value: str) -> tuple[Block, ...]:
    if not value.startswith("["):
        raise GenotypeError(f"DARTS genotype: {name} must be a list of (op, input) pairs")
    pairs = _DARTS_PAIR.findall(value)
    junk = re.sub(r"[\s,]", "", _DARTS_PAIR.sub("", value[1:-1]))
    if junk:
        raise GenotypeError(f"DARTS genotype: {name} holds {_excerpt(junk)}, not only ('op', input) pairs")
    if len(pairs) % 2:
        raise GenotypeError(f"DARTS genotype: {name} has an odd number of (op, input) pairs")
    return tuple(Block(int(pairs[i][1]), canonical_op_name(pairs[i][0]), int(pairs[i + 1][1]),
                       canonical_op_name(pairs[i + 1][0]), "add") for i in range(0, len(pairs), 2))


def _darts_concat(name: str, value: str, num_blocks: int) -> tuple[int, ...]:
    """The output nodes, from `[2, 3]` or `range(2, 4)`; a range is bounded by the cell's nodes before it is made."""
    if value.startswith("[") and re.fullmatch(r"\[[\d\s,]*\]", value) is None:
        raise GenotypeError(f"DARTS genotype: {name} must list node numbers, got {_excerpt(value)}")
    numbers, nodes = re.findall(r"\d+", value), NUM_CELL_INPUTS + num_blocks
    if any(len(number) > 9 for number in numbers) or (value.startswith("range") and int(numbers[1]) > nodes):
        raise GenotypeError(f"DARTS genotype: {name} {_excerpt(value)} names nodes the cell does not have "
                            f"(0..{nodes - 1})")
    return tuple(int(number) for number in numbers) if value.startswith("[") else tuple(range(*map(int, numbers)))
