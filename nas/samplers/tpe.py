"""TPE (Bergstra et al. 2011) through Optuna: the default sampler."""

from __future__ import annotations

import optuna

from nas.samplers.base import register_sampler
from nas.samplers.known_search_space import KnownSpaceTPESampler
from nas.samplers.optuna_study import STUDY_OPTIONS, OptunaStudySampler, quiet_experimental


@register_sampler("tpe")
class TpeSampler(OptunaStudySampler):
    # multivariate: NAS decisions interact (an op matters through the edges around it), so model them jointly.
    # constant_liar: parallel workers asking before results come back should not all get the same cell.
    defaults = {
        **STUDY_OPTIONS,
        "n_startup_trials": 10,
        "n_ei_candidates": 24,
        "multivariate": True,
        "group": False,
        "constant_liar": True,
    }

    def __init__(self, decisions, *, seed: int = 0, **options):
        self._finished_rows: dict = {}  # TPE's view of each finished trial, kept across asks (known_search_space.py)
        super().__init__(decisions, seed=seed, **options)

    @property
    def start_up_size(self) -> int:
        return self._option("n_startup_trials", int, low=0)

    def _optuna_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        options = dict(
            seed=seed,
            n_startup_trials=self._option("n_startup_trials", int, low=0),
            n_ei_candidates=self._option("n_ei_candidates", int, low=1),
            multivariate=bool(self.options["multivariate"]),
            group=bool(self.options["group"]),
            constant_liar=bool(self.options["constant_liar"]),
        )
        if options["multivariate"] and not options["group"]:  # the default: skip Optuna's search-space scan
            rows = self._finished_rows
            return quiet_experimental(lambda: KnownSpaceTPESampler(self._distributions, finished_rows=rows, **options))
        return quiet_experimental(lambda: optuna.samplers.TPESampler(**options))
