"""Uniform random search through Optuna: the baseline every other sampler must beat."""

from __future__ import annotations

import optuna

from nas.search.samplers.optuna_study import STUDY_OPTIONS, OptunaStudySampler


class RandomSampler(OptunaStudySampler):
    name = "random"
    defaults = dict(STUDY_OPTIONS)

    def _optuna_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)
