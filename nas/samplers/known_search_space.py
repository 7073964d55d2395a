"""Optuna samplers told the search space instead of inferring it from every trial of the study.

Multivariate TPE and NSGA-II ask Optuna's `IntersectionSearchSpace` which parameters all finished trials share.
It caches its answer inside the sampler, but our adapter builds a fresh, seeded sampler for every ask (so that a
resumed study asks what an uninterrupted one would), so the cache was always cold: each ask compared all 50
distributions of every trial, about 90% of an ask at 1,000 trials.

Our adapter suggests every decision of the space in every trial (`study.ask(fixed_distributions)`), so that
intersection is known: empty until a trial in the counted states has finished, then the whole space. These
subclasses return exactly that, in the order Optuna would (sorted by name, single-choice decisions left out),
so the samplers ask the same cells as before, only without the scan. For the same reason TPE's conversion of
every finished trial's parameters to choice indices is kept from one ask to the next.
"""

from __future__ import annotations

from typing import Container, Mapping

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import TrialState


def known_relative_space(
    space: Mapping[str, BaseDistribution], study: optuna.Study, counted_states: Container[TrialState]
) -> dict[str, BaseDistribution]:
    """What `IntersectionSearchSpace` returns for a study whose trials all suggest exactly `space`."""
    if not study.get_trials(deepcopy=False, states=counted_states):
        return {}
    return {name: space[name] for name in sorted(space) if not space[name].single()}


class KnownSpaceTPESampler(optuna.samplers.TPESampler):
    """Multivariate TPE (group=False) over a known space; Optuna's TPE counts COMPLETE and PRUNED trials.

    `finished_rows`, a dict the caller keeps from one ask to the next (its samplers are built afresh for each
    ask), caches what TPE's `_get_internal_repr` computes anew every ask for every trial: a finished trial's
    parameters as choice indices. Converting 50 parameters of 1,000 trials was over half of an ask at 1,000 trials.
    """

    def __init__(self, space: Mapping[str, BaseDistribution], finished_rows: dict | None = None, **options):
        if not options.get("multivariate") or options.get("group"):
            raise ValueError("the known search space stands in for multivariate TPE without groups only")
        super().__init__(**options)
        self._known_space = dict(space)
        self._finished_rows = finished_rows

    def infer_relative_search_space(self, study, trial) -> dict[str, BaseDistribution]:
        return known_relative_space(self._known_space, study, (TrialState.COMPLETE, TrialState.PRUNED))

    def _get_internal_repr(self, trials, search_space, study) -> dict[str, np.ndarray]:
        categorical = all(isinstance(d, CategoricalDistribution) for d in search_space.values())
        if self._finished_rows is None or not categorical:
            return super()._get_internal_repr(trials, search_space, study)
        cache = self._finished_rows.setdefault(tuple(search_space), {})  # trial number -> row, for this space
        rows = [row for row in (self._row(trial, search_space, study, cache) for trial in trials) if row is not None]
        if not rows:
            return {name: np.asarray([]) for name in search_space}  # as Optuna's: empty float arrays
        # One contiguous int64 array per parameter, as np.asarray makes of Optuna's lists of choice indices.
        columns = np.ascontiguousarray(np.asarray(rows, dtype=np.int64).T)
        return {name: columns[index] for index, name in enumerate(search_space)}

    def _row(self, trial, search_space, study, cache: dict) -> tuple[int, ...] | None:
        """The trial's choice indices in `search_space` order; None if it lacks a parameter (Optuna skips it)."""
        if trial.number in cache:
            return cache[trial.number]
        params = self._get_params(trial, study)
        row = None
        if search_space.keys() <= params.keys():
            row = tuple(distribution.to_internal_repr(params[name]) for name, distribution in search_space.items())
        if trial.state.is_finished():  # a running trial's parameters may still grow (Optuna's constant liar)
            cache[trial.number] = row
        return row


class KnownSpaceNSGAIISampler(optuna.samplers.NSGAIISampler):
    """NSGA-II over a known space; Optuna's NSGA-II counts COMPLETE trials only."""

    def __init__(self, space: Mapping[str, BaseDistribution], **options):
        super().__init__(**options)
        self._known_space = dict(space)

    def infer_relative_search_space(self, study, trial) -> dict[str, BaseDistribution]:
        return known_relative_space(self._known_space, study, (TrialState.COMPLETE,))
