"""The scorer of a tabular guided search: proxy values looked up in a NAS-Bench-201 scores table.

It is built from the scores table alone (nas.zero_cost.nasbench201_scores), which holds proxies and the seconds
they took, never an accuracy: the guidance cannot see the benchmark's answers. Scoring costs what the table
records it cost on the machine that made it (the sum of `<proxy>_s` of the cells scored), not the microseconds of
a lookup, so a search's scoring time is the time it would have spent computing the proxies.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from nas.zero_cost.nasbench201_scores import ScoresTable


class TableScorer:
    """`scorer(candidates) -> [{proxy: value}]` for ProxyGuidedSampler. A cell the table has no score for (no
    row, or the proxy never ran on it) gets NaN, which ranks last; `unscored` counts them."""

    def __init__(self, scores: ScoresTable, proxies: Sequence[str]):
        scores.check_proxies(proxies)
        self._scores = scores
        self.proxies = tuple(proxies)
        self.seconds = 0.0  # recorded seconds of every cell scored so far
        self.scored = 0
        self.unscored = 0

    def __call__(self, candidates: Sequence[tuple[int, ...]]) -> list[dict[str, float]]:
        return [self._score(tuple(choices)) for choices in candidates]

    def _score(self, choices: tuple[int, ...]) -> dict[str, float]:
        self.scored += 1
        row = self._scores.rows.get(choices)
        if row is None:
            self.unscored += 1
            return {proxy: math.nan for proxy in self.proxies}
        seconds = np.array([self._scores.seconds[proxy][row] for proxy in self.proxies])
        if np.isnan(seconds).any():  # a proxy the table computed on a sample only, and not on this cell
            self.unscored += 1
        self.seconds += float(np.nansum(seconds))
        return {proxy: float(self._scores.values[proxy][row]) for proxy in self.proxies}
