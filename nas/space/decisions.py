"""A search space as samplers see it: an ordered list of categorical decisions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Decision:
    """One categorical choice: a name (unique within the space) and the labels of its choices."""

    name: str
    choices: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "choices", tuple(str(choice) for choice in self.choices))
        if not self.choices:
            raise ValueError(f"decision {self.name!r} has no choices")

    @property
    def num_choices(self) -> int:
        return len(self.choices)


def count_combinations(decisions: Sequence[Decision]) -> int:
    """How many distinct decision vectors the list admits."""
    return math.prod(decision.num_choices for decision in decisions)


def describe_count(count: int, unit: str) -> str:
    """`15,625 architectures (1.56e+04)`; a count too long for that (Python prints no int of over 4,300 digits,
    and a float holds none past 1e308) from its logarithm: `about 3.41e+7612 architectures`."""
    if count.bit_length() <= 1000:  # under 1e301
        return f"{count:,} {unit} ({count:.3g})"
    exponent = math.floor(math.log10(count))
    mantissa = count / 10**exponent  # int by int to a float: exact enough, and no overflow
    return f"about {mantissa:.2f}e+{exponent} {unit}"


def check_choices(decisions: Sequence[Decision], values: Sequence[int]) -> tuple[int, ...]:
    """Validate a vector of choice indices against the decisions; raises ValueError naming the decision."""
    values = tuple(int(value) for value in values)
    if len(values) != len(decisions):
        raise ValueError(f"expected {len(decisions)} decisions, got {len(values)}")
    for decision, value in zip(decisions, values):
        if not 0 <= value < decision.num_choices:
            raise ValueError(f"decision {decision.name!r}: choice {value} is outside 0..{decision.num_choices - 1}")
    return values
