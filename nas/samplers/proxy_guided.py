"""Any sampler, guided by a zero-cost proxy: a warm start and screening, through the ask/tell interface alone.

- Warm start: before the first ask, score a pool of `warm_start_pool` uniformly sampled cells and hand the best
  `warm_start_count` to the sampler as its first candidates (`Sampler.start_with`: evolution's initial population,
  TPE's start-up trials, the controller's first batch), best first.
- Screening: every later ask draws `screen` candidates from the sampler, has them scored, and returns the best;
  the others are told 'failed' with a note (never trained), which every sampler ignores: a FAIL says nothing about
  the cell. This is the "move proposal" of Abdelfattah et al. (ICLR 2021): the sampler proposes, the proxy picks.

Every candidate returned is scored (also without screening), so a search records the proxy beside the trained
accuracy. Scoring is the caller's `scorer` (a lookup in a table, a Ray task on a worker); its wall time is counted.
The wrapper needs no torch: a vote of several proxies is ranked here, over every cell scored so far.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from nas.errors import ConfigError
from nas.proxy_vote import DEFAULT_VOTE_MEMBERS, VOTE, mean_rank_vote
from nas.samplers.base import Outcome, Sampler, Suggestion


# (candidates) -> one {proxy: value} per candidate, in order; a value is NaN where the proxy could not score it.
Scorer = Callable[[Sequence[tuple[int, ...]]], list[dict[str, float]]]


@dataclass(frozen=True)
class ProxyGuidance:
    """How a search uses a proxy. `proxy` is a registered proxy's name, or 'vote' (the mean percentile rank of
    `vote_members`). warm_start_pool 0: no warm start; screen 1: no screening."""

    proxy: str = VOTE
    vote_members: tuple[str, ...] = DEFAULT_VOTE_MEMBERS
    warm_start_pool: int = 0
    warm_start_count: int | None = None  # None: the sampler's start-up size
    screen: int = 1

    def __post_init__(self):
        if self.warm_start_pool < 0:
            raise ConfigError(f"zero_cost.warm_start_pool must be 0 or more cells, got {self.warm_start_pool}")
        if self.warm_start_count is not None and self.warm_start_count < 1:
            raise ConfigError(f"zero_cost.warm_start_count must be at least 1, got {self.warm_start_count}")
        if self.screen < 1:
            raise ConfigError(f"zero_cost.screen must be at least 1 candidate per trained one, got {self.screen}")
        if self.proxy == VOTE and len(self.vote_members) < 2:
            raise ConfigError(f"a vote needs at least 2 proxies, got {list(self.vote_members)}")

    @property
    def proxies(self) -> tuple[str, ...]:
        """The proxies a scorer must compute."""
        return tuple(self.vote_members) if self.proxy == VOTE else (self.proxy,)

    @property
    def active(self) -> bool:
        return self.warm_start_pool > 0 or self.screen > 1


@dataclass
class ScreeningCounts:
    scored: int = 0  # distinct cells scored
    screened_out: int = 0  # drawn from the sampler, not trained
    warm_started: int = 0  # handed to the sampler by the warm start
    seconds: float = 0.0  # wall time spent scoring
    history: list = field(default_factory=list)  # per scoring call: (cells, seconds)


class ProxyGuidedSampler:
    """Wraps `sampler`; everything but ask is the sampler's own (tell, save, pending, ...)."""

    def __init__(self, sampler: Sampler, guidance: ProxyGuidance, scorer: Scorer, *,
                 sample: Callable[[np.random.Generator], tuple[int, ...]], seed: int = 0):
        self.sampler = sampler
        self.guidance = guidance
        self.scorer = scorer
        self.sample = sample
        self._rng = np.random.default_rng(seed)
        self.scores: dict[tuple[int, ...], dict[str, float]] = {}
        self.counts = ScreeningCounts()
        # A sampler that has been asked before (a resumed search) got its warm start then.
        self._warm_start_due = guidance.warm_start_pool > 0 and sampler.asked == 0

    def __getattr__(self, name):  # tell, save, pending, report_epoch, name, ...: the sampler's
        return getattr(self.sampler, name)

    # --- scoring ---------------------------------------------------------------------------------------------------
    def score(self, candidates: Sequence[tuple[int, ...]]) -> None:
        """Score the candidates not scored yet, in one call of the scorer."""
        new = list(dict.fromkeys(tuple(c) for c in candidates if tuple(c) not in self.scores))
        if not new:
            return
        start = time.perf_counter()
        rows = self.scorer(new)
        seconds = time.perf_counter() - start
        if len(rows) != len(new):
            raise RuntimeError(f"the scorer returned {len(rows)} rows for {len(new)} cells")
        for choices, row in zip(new, rows):
            self.scores[choices] = {name: float(row.get(name, math.nan)) for name in self.guidance.proxies}
        self.counts.scored += len(new)
        self.counts.seconds += seconds
        self.counts.history.append((len(new), seconds))

    def proxy_value(self, choices: tuple[int, ...]) -> float:
        """The guiding value of a scored cell: the proxy, or its vote among every cell scored so far; NaN if none."""
        choices = tuple(choices)
        if choices not in self.scores:
            return math.nan
        if self.guidance.proxy != VOTE:
            return self.scores[choices][self.guidance.proxy]
        return float(self._votes([choices])[0])

    def _votes(self, candidates: Sequence[tuple[int, ...]]) -> np.ndarray:
        pool = list(self.scores)
        position = {choices: index for index, choices in enumerate(pool)}
        matrix = np.array([[self.scores[c][m] for m in self.guidance.vote_members] for c in pool], dtype=float)
        votes = mean_rank_vote(matrix)  # NaN where any member failed
        return np.array([votes[position[tuple(c)]] for c in candidates])

    def _ranking(self, candidates: Sequence[tuple[int, ...]]) -> np.ndarray:
        if self.guidance.proxy == VOTE:
            values = self._votes(candidates)
        else:
            values = np.array([self.scores[tuple(c)][self.guidance.proxy] for c in candidates], dtype=float)
        return np.where(np.isnan(values), -np.inf, values)  # a cell the proxy could not score ranks last

    # --- asking ------------------------------------------------------------------------------------------------------
    def ask(self) -> Suggestion:
        if self._warm_start_due:
            self._warm_start()
        if self.sampler.queued or self.guidance.screen <= 1:
            suggestion = self.sampler.ask()
            self.score([suggestion.choices])
            return suggestion
        drawn = [self.sampler.ask() for _ in range(self.guidance.screen)]
        self.score([suggestion.choices for suggestion in drawn])
        values = self._ranking([suggestion.choices for suggestion in drawn])
        best = int(np.argmax(values))  # the first of equals: the sampler's own order
        for index, suggestion in enumerate(drawn):
            if index != best:
                self.sampler.tell(suggestion.token, Outcome(
                    "failed", note=f"screened out by zero-cost proxy {self.guidance.proxy}: not trained"))
                self.counts.screened_out += 1
        return drawn[best]

    def warm_start_if_due(self) -> None:
        """The warm start now rather than at the first ask: a search does it before its time budget's clock (Ray
        Tune's) starts, so the budget is cut by it explicitly."""
        if self._warm_start_due:
            self._warm_start()

    def _warm_start(self) -> None:
        self._warm_start_due = False
        pool: dict[tuple[int, ...], None] = {}
        tries = 0
        while len(pool) < self.guidance.warm_start_pool and tries < 20 * self.guidance.warm_start_pool:
            pool[tuple(self.sample(self._rng))] = None
            tries += 1
        cells = list(pool)
        self.score(cells)
        values = self._ranking(cells)
        count = self.guidance.warm_start_count or self.sampler.start_up_size or 1
        order = np.argsort(-values, kind="stable")[: min(count, len(cells))]
        best = [cells[int(i)] for i in order if np.isfinite(values[int(i)])]
        self.sampler.start_with(best)
        self.counts.warm_started = len(best)
