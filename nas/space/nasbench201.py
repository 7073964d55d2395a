"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020) as six categorical decisions.

A cell has 4 nodes; node j sums one op applied to each earlier node i. Decision `edge_j_i` picks the op on the edge
node j <- node i, in the benchmark's order (edge_1_0, edge_2_0, edge_2_1, edge_3_0, edge_3_1, edge_3_2), so a
decision vector and the benchmark's architecture string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` list the same edges
in the same order.
"""

from __future__ import annotations

from typing import Any, Sequence

from nas.errors import ConfigError
from nas.space.base import SearchSpace, register_space
from nas.space.decisions import Decision, check_choices

NASBENCH201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
EDGES = tuple((node, source) for node in range(1, NUM_NODES) for source in range(node))


def is_nasbench201_arch(candidate) -> bool:
    """Whether `candidate` is written as a NAS-Bench-201 architecture string (`|op~0|+|...|`) rather than a genotype:
    no genotype form (a name, a file, the one-line or DARTS form, YAML) starts with '|'. Whether it is a well-formed
    one is `NasBench201Space().encode`'s to say."""
    return isinstance(candidate, str) and candidate.lstrip().startswith("|")


@register_space("nasbench201")
class NasBench201Space(SearchSpace):
    """Six edges, one op each: 5^6 = 15,625 cells. Genotypes are the benchmark's architecture strings."""

    # Searched in the benchmark's table (`nas bench`), not trained: build_model builds and trains any of its cells,
    # but a search's best.yaml, top/ files, report and decision importance read candidates as NASNet genotypes.
    trainable = False

    def __init__(self, ops: Sequence[str] = NASBENCH201_OPS, name: str = "nasbench201", description: str = ""):
        self.name = name
        self.description = description or "NAS-Bench-201: a 4-node cell, one op on each of its 6 edges"
        ops = tuple(ops)
        if not ops or len(set(ops)) != len(ops) or any(not op or "~" in op or "|" in op or "+" in op for op in ops):
            raise ConfigError(f"NAS-Bench-201 space: ops must be distinct names without '~', '|' or '+', got {list(ops)}")
        self.ops = ops
        self._decisions = [Decision(f"edge_{node}_{source}", ops) for node, source in EDGES]

    @property
    def decisions(self) -> list[Decision]:
        return self._decisions

    @classmethod
    def from_config(cls, cfg: dict[str, Any], source: str = "space") -> "NasBench201Space":
        """From a YAML mapping: `type: nasbench201` and optionally `ops: [...]` (default: the benchmark's five)."""
        if not isinstance(cfg, dict):
            raise ConfigError(f"{source}: a NAS-Bench-201 space config must be a mapping")
        unknown = sorted(set(cfg) - {"type", "name", "description", "ops"})
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: type, name, description, ops")
        if cfg.get("type", "nasbench201") != "nasbench201":
            raise ConfigError(f"NAS-Bench-201 space: type is {cfg.get('type')!r}, expected 'nasbench201'")
        ops = cfg.get("ops", NASBENCH201_OPS)
        if not isinstance(ops, (list, tuple)) or not all(isinstance(op, str) for op in ops):
            raise ConfigError("NAS-Bench-201 space: ops must be a list of op names")
        return cls(ops, name=str(cfg.get("name", "nasbench201")), description=str(cfg.get("description", "")))

    def decode(self, choices: Sequence[int]) -> str:
        """Decision vector -> architecture string, e.g. `|nor_conv_3x3~0|+|skip_connect~0|none~1|+|...|`."""
        try:
            choices = check_choices(self.decisions, choices)
        except ValueError as error:
            raise ConfigError(f"NAS-Bench-201 space: {error}") from None
        ops = iter(self.ops[choice] for choice in choices)
        nodes = ["|" + "|".join(f"{next(ops)}~{source}" for source in range(node)) + "|" for node in range(1, NUM_NODES)]
        return "+".join(nodes)

    def encode(self, arch: str) -> tuple[int, ...]:
        """Architecture string -> decision vector; ConfigError naming the problem if the string is malformed."""
        if not isinstance(arch, str):
            raise ConfigError(f"NAS-Bench-201 arch must be a string, got {type(arch).__name__}")
        nodes = arch.strip().split("+")
        if len(nodes) != NUM_NODES - 1:
            raise ConfigError(f"NAS-Bench-201 arch {arch!r}: expected {NUM_NODES - 1} nodes joined by '+', got {len(nodes)}")
        choices = []
        for node, text in enumerate(nodes, start=1):
            if not (text.startswith("|") and text.endswith("|")) or len(text) < 2:
                raise ConfigError(f"NAS-Bench-201 arch {arch!r}: node {node} {text!r} must be written |op~i|...|")
            edges = text[1:-1].split("|")
            if len(edges) != node:
                raise ConfigError(f"NAS-Bench-201 arch {arch!r}: node {node} needs {node} edges, got {len(edges)}")
            for source, edge in enumerate(edges):
                op, tilde, index = edge.partition("~")
                if not tilde or index != str(source):
                    raise ConfigError(f"NAS-Bench-201 arch {arch!r}: node {node} edge {edge!r} should read op~{source}")
                if op not in self.ops:
                    raise ConfigError(f"NAS-Bench-201 arch {arch!r}: unknown op {op!r}; valid ops: {', '.join(self.ops)}")
                choices.append(self.ops.index(op))
        return tuple(choices)

    def canonical_key(self, arch: str) -> str:
        return arch  # one string per cell: the benchmark's own key

    def describe_op(self, op: str) -> str:
        return "answered from the benchmark's table"
