"""One name and one hash per cell across search, transfer and comparison.

A cell's hash is its genotype's canonical hash (nas.space.genotype), the `hash` column of a search's trials.csv:
the same cell has it whatever order its blocks were written in. Its name is what it calls itself: a published
cell's name, or a genotype file's `name:` field (a search writes `<experiment>-<rank>` into best.yaml and top/, the
name a transfer gives the same cell); a cell without one is named by its hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from nas.errors import ConfigError
from nas.models import resolve_genotype_for_model
from nas.space.genotype import Genotype
from nas.space.genotype_files import declared_name

# A name becomes a job's folder (NAME-seedN/) and a row of the tables: no paths, no spaces.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


@dataclass(frozen=True)
class NamedCell:
    name: str
    genotype: Genotype
    given_as: str  # what the user wrote: a published name, a file or inline text
    also_given_as: tuple[str, ...] = ()  # the same cell given again, under these: trained once, as `name`

    @property
    def hash(self) -> str:
        return self.genotype.hash()


def named_cells(cells: list[str], other_names: tuple[str, ...] = ()) -> list[NamedCell]:
    """Each distinct cell once, in the order given: the same cell given twice (under any name) is one network.
    ConfigError when two different cells, or a cell and one of `other_names` (the baselines), would get one name."""
    by_hash: dict[str, NamedCell] = {}
    by_name: dict[str, NamedCell] = {}
    for given in cells:
        genotype = resolve_genotype_for_model(given)
        cell = NamedCell(declared_name(given) or genotype.hash(), genotype, given)
        if cell.hash in by_hash:
            first = by_hash[cell.hash]
            by_hash[cell.hash] = by_name[first.name] = replace(first, also_given_as=(*first.also_given_as, given))
            continue
        if not _PLAIN_NAME.fullmatch(cell.name):
            raise ConfigError(f"--cells {given}: its name {cell.name!r} must be letters, digits, '.', '_', '+' or "
                              f"'-' (it names the run's folder); edit its name: field")
        clash = by_name.get(cell.name)
        if clash is not None or cell.name in other_names:
            other = f"cell {clash.given_as}" if clash is not None else "the baseline"
            raise ConfigError(f"--cells {given} and {other} are different networks both named {cell.name!r}; "
                              f"give one another name: field")
        by_hash[cell.hash] = by_name[cell.name] = cell
    return list(by_hash.values())


def same_cell_lines(cells: list[NamedCell]) -> list[str]:
    """A line for each cell given more than once, so a table with fewer rows than cells asked says why."""
    return [f"{', '.join(cell.also_given_as)} {'is' if len(cell.also_given_as) == 1 else 'are'} the same cell as "
            f"{cell.given_as} (hash {cell.hash}): trained once, as {cell.name}" for cell in cells if cell.also_given_as]
