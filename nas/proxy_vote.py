"""The rank vote of zero-cost proxies, one definition for every layer that takes it: a search's sampler wrapper
(nas.samplers.proxy_guided, which may not import torch or pandas) and the score tables (nas.zero_cost.combine).

A vote is each network's mean percentile rank over several proxies within one pool of networks, so it is relative
to that pool, never a property of one network alone.
"""

from __future__ import annotations

import numpy as np

VOTE = "vote"
# Chosen on the NAS-Bench-201 scores by the rank correlation with the 12-epoch validation accuracy (the signal a
# search may use, not the test accuracy): 0.644, within noise of the best pair (jacob_cov and naswot, 0.648, over
# 1,965 cells) at half its cost; results/zero-cost/quality.md, benchmarks/zero_cost_quality.py.
DEFAULT_VOTE_MEMBERS = ("jacob_cov", "synflow")


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank among `values` divided by their number (ties share their mean rank, as pandas'
    rank(pct=True)); NaN stays NaN. 1.0 is the best."""
    ranks = np.full(len(values), np.nan)
    present = ~np.isnan(values)
    if present.any():
        kept = values[present]
        order = np.argsort(kept, kind="stable")
        ordinal = np.empty(len(kept))
        ordinal[order] = np.arange(1, len(kept) + 1)
        # ties: the mean ordinal of each group of equal values
        _, inverse = np.unique(kept, return_inverse=True)
        sums = np.bincount(inverse, weights=ordinal)
        counts = np.bincount(inverse)
        ranks[present] = (sums / counts)[inverse] / len(kept)
    return ranks


def mean_rank_vote(matrix: np.ndarray) -> np.ndarray:
    """One vote per row of `matrix` (rows: networks of the pool; columns: the members' values): the mean of the
    columns' percentile ranks, NaN where any member is NaN."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape[0] == 0:
        return np.empty(0)
    return np.column_stack([percentile_ranks(matrix[:, j]) for j in range(matrix.shape[1])]).mean(axis=1)
