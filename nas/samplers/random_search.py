"""Uniform random search through Optuna: the baseline every other sampler must beat."""

from __future__ import annotations

import optuna

from nas.samplers.base import register_sampler
from nas.samplers.optuna_study import STUDY_OPTIONS, OptunaStudySampler


@register_sampler("random")
class RandomSampler(OptunaStudySampler):
    defaults = dict(STUDY_OPTIONS)

    def _optuna_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)
