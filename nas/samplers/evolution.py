"""Regularized (aging) evolution, Real et al. 2019 (AmoebaNet).

Until `population_size` results are in, ask samples uniformly. Then each ask draws `sample_size` members of the
population at random, takes the best, and mutates one decision to a different choice. Each result joins the
population and the oldest member leaves, so a cell survives by having good children, not by one lucky score.

Outcomes: 'failed' is dropped (the error says nothing about the cell, and the slot is not wasted on it);
'diverged' joins with reward 0 (or the reward given); 'pruned' joins with its partial reward (0 if none), so
tournaments pass it over and it ages out.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from nas.run_status import Status
from nas.samplers.base import Outcome, Sampler, Suggestion, register_sampler


@register_sampler("evolution")
class EvolutionSampler(Sampler):
    # Tuned on NAS-Bench-201 at 100 cells (population 10..50 x sample 3..10): a population of 20 starts
    # selecting early, and a tournament of half of it gives strong pressure while aging keeps it from stalling.
    # Real et al. used 100/25 over 20,000 children; scale both up for searches of thousands.
    defaults = {"population_size": 20, "sample_size": 10}

    def __init__(self, decisions, *, seed: int = 0, **options):
        super().__init__(decisions, seed=seed, **options)
        self.population_size = self._option("population_size", int, low=2)
        self.sample_size = self._option("sample_size", int, low=1, high=self.population_size)
        self._rng = np.random.default_rng(self.seed)
        self._population: deque[tuple[tuple[int, ...], float]] = deque()  # oldest first
        self._told = 0

    @property
    def start_up_size(self) -> int:
        return self.population_size

    def _propose(self):
        if self._told < self.population_size or not self._population:
            return [int(self._rng.integers(d.num_choices)) for d in self.decisions]
        picks = self._rng.choice(len(self._population), size=min(self.sample_size, len(self._population)), replace=False)
        # Ties go to the younger member (larger index): fresher cells carry the search forward.
        parent = max(sorted(int(i) for i in picks), key=lambda i: (self._population[i][1], i))
        return self._mutate(self._population[parent][0])

    def _mutate(self, parent: tuple[int, ...]) -> list[int]:
        child = list(parent)
        mutable = [i for i, d in enumerate(self.decisions) if d.num_choices > 1]
        if not mutable:
            return child
        position = mutable[int(self._rng.integers(len(mutable)))]
        others = [c for c in range(self.decisions[position].num_choices) if c != child[position]]
        child[position] = others[int(self._rng.integers(len(others)))]
        return child

    def _learn(self, suggestion: Suggestion, outcome: Outcome) -> None:
        if outcome.status == Status.FAILED:
            return
        self._told += 1
        reward = outcome.reward if outcome.reward is not None else 0.0
        self._population.append((suggestion.choices, float(reward)))
        while len(self._population) > self.population_size:
            self._population.popleft()

    def _state(self) -> dict:
        return {
            "rng": self._rng.bit_generator.state,
            "population": [[list(choices), reward] for choices, reward in self._population],
            "told": self._told,
        }

    def _load_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state["rng"]
        self._population = deque((tuple(choices), float(reward)) for choices, reward in state["population"])
        self._told = int(state["told"])
