"""Combining proxies by rank vote: each network's mean percentile rank over several proxies within one pool.

A vote is relative to the pool it is taken in (the networks of one `nas score` run, the candidates one screening
step compares, a table), so it is computed over a table of scores, never for one network alone. Abdelfattah et al.
vote with synflow, jacob_cov and snip; the default here, and why, is in nas.proxy_vote, which computes the vote for
tables and for a search's sampler alike.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from nas.errors import ConfigError
from nas.proxy_vote import DEFAULT_VOTE_MEMBERS, VOTE, mean_rank_vote


def rank_vote(scores: pd.DataFrame, members: Sequence[str] = DEFAULT_VOTE_MEMBERS) -> pd.Series:
    """The mean over `members` of each row's percentile rank (1.0 is the pool's best); NaN where any member is."""
    missing = [member for member in members if member not in scores.columns]
    if missing:
        raise ConfigError(f"the vote needs proxy column(s) {', '.join(missing)}")
    return pd.Series(mean_rank_vote(scores[list(members)].to_numpy(dtype=float)), index=scores.index, name=VOTE)


def vote_members_available(columns: Sequence[str], members: Sequence[str] = DEFAULT_VOTE_MEMBERS) -> bool:
    return all(member in columns for member in members)
