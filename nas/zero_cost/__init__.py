"""Zero-cost proxies: scores of an untrained network on one mini-batch that predict how well it will train.

`score_network` computes registered proxies (`PROXIES`, `register_proxy`) on one network; `rank_vote` combines
them over a pool. The built-ins are in nas/zero_cost/proxies: params, macs, grad_norm, snip, synflow, jacob_cov,
naswot and zico.
"""

from nas.zero_cost.combine import DEFAULT_VOTE_MEMBERS, VOTE, rank_vote
from nas.zero_cost.registry import PROXIES, ProxySpec, cheap_proxy_names, proxy_names, register_proxy
from nas.zero_cost.scoring import DEFAULT_BATCH_SIZE, NetworkScores, check_proxy_names, score_built_network, score_network

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_VOTE_MEMBERS", "PROXIES", "ProxySpec", "NetworkScores", "VOTE",
           "cheap_proxy_names", "check_proxy_names", "proxy_names", "rank_vote", "register_proxy",
           "score_built_network", "score_network"]
