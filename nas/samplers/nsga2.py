"""NSGA-II through Optuna: two objectives, maximize reward and minimize a cost (params or MACs)."""

from __future__ import annotations

import optuna

from nas.errors import ConfigError
from nas.samplers.base import Outcome, register_sampler
from nas.samplers.known_search_space import KnownSpaceNSGAIISampler
from nas.samplers.optuna_study import STUDY_OPTIONS, OptunaStudySampler

COSTS = ("params", "macs")  # what NSGA-II may minimise: costs every trial's outcome carries


@register_sampler("nsga2")
class Nsga2Sampler(OptunaStudySampler):
    directions = ("maximize", "minimize")
    # A generation of 20 lets selection start working inside a 100-candidate budget; NSGA-II's usual 50 suits
    # searches of several hundred candidates.
    defaults = {**STUDY_OPTIONS, "cost": "params", "population_size": 20, "mutation_prob": None, "crossover_prob": 0.9}
    moved_config_keys = {**OptunaStudySampler.moved_config_keys, "objective.cost": "cost"}

    def __init__(self, decisions, *, seed: int = 0, **options):
        cost = options.get("cost", self.defaults["cost"])
        if cost not in COSTS:
            raise ConfigError(f"sampler 'nsga2': option cost={cost!r} is not one of {', '.join(COSTS)}")
        super().__init__(decisions, seed=seed, **options)

    @property
    def start_up_size(self) -> int:
        return self._option("population_size", int, low=2)  # its first generation is random

    def _optuna_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return KnownSpaceNSGAIISampler(
            self._distributions,
            seed=seed,
            population_size=self._option("population_size", int, low=2),
            mutation_prob=self._option("mutation_prob", float, low=0.0, high=1.0),
            crossover_prob=self._option("crossover_prob", float, low=0.0, high=1.0),
        )

    def _objective_values(self, reward: float, outcome: Outcome) -> list[float]:
        cost = self.options["cost"]
        if cost not in outcome.costs:
            raise ConfigError(f"sampler 'nsga2' minimizes cost {cost!r} but the outcome has only {sorted(outcome.costs)}")
        return [reward, float(outcome.costs[cost])]
