"""Combining proxies by rank vote: each network's mean percentile rank over several proxies within one pool.

A vote is relative to the pool it is taken in (the networks of one `nas score` run, the candidates one screening
step compares, a table), so it is computed over a table of scores, never for one network alone. Abdelfattah et al.
vote with synflow, jacob_cov and snip. The default here, jacob_cov and synflow, was chosen on the NAS-Bench-201
scores by the rank correlation with the 12-epoch validation accuracy (the signal a search may use, not the test
accuracy): 0.644, within noise of the best pair (jacob_cov and naswot, 0.648, over 1,965 cells) at half its cost,
far above naswot, synflow and zico (0.466); results/zero-cost/quality.md, benchmarks/zero_cost_quality.py.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from nas.errors import ConfigError

VOTE = "vote"
DEFAULT_VOTE_MEMBERS = ("jacob_cov", "synflow")


def rank_vote(scores: pd.DataFrame, members: Sequence[str] = DEFAULT_VOTE_MEMBERS) -> pd.Series:
    """The mean over `members` of each row's percentile rank (1.0 is the pool's best); NaN where any member is."""
    missing = [member for member in members if member not in scores.columns]
    if missing:
        raise ConfigError(f"the vote needs proxy column(s) {', '.join(missing)}")
    ranks = scores[list(members)].astype(float).rank(pct=True)
    return ranks.mean(axis=1, skipna=False).rename(VOTE)


def vote_members_available(columns: Sequence[str], members: Sequence[str] = DEFAULT_VOTE_MEMBERS) -> bool:
    return all(member in columns for member in members)
