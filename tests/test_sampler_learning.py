"""Learning samplers beat random search on a synthetic reward over a NASNet-like space.

Reward = fraction of op decisions choosing sep_conv_3x3 (random search expects 1/13 ≈ 0.08). Each sampler gets a
few hundred samples; the mean reward of its last 100 must clearly exceed random's
(chance + 0.15; the defaults reach 0.3 to 0.7 here).
"""

from __future__ import annotations

import numpy as np
import pytest

from nas.samplers import Outcome, make_sampler
from nas.space.decisions import Decision

NASNET_OPS = (
    "identity", "conv_1x3_3x1", "conv_1x7_7x1", "dil_conv_3x3", "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5",
    "max_pool_7x7", "conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
)  # fmt: skip
BLOCKS = 5



def nasnet_like_decisions() -> list[Decision]:
    decisions = []
    for cell in ("normal",):
        for block in range(BLOCKS):
            inputs = tuple(str(i) for i in range(2 + block))
            decisions += [
                Decision(f"{cell}.b{block}.input_a", inputs),
                Decision(f"{cell}.b{block}.input_b", inputs),
                Decision(f"{cell}.b{block}.op_a", NASNET_OPS),
                Decision(f"{cell}.b{block}.op_b", NASNET_OPS),
            ]
    return decisions


DECISIONS = nasnet_like_decisions()
OP_POSITIONS = [i for i, d in enumerate(DECISIONS) if ".op_" in d.name]
TARGET = NASNET_OPS.index("sep_conv_3x3")


def reward(choices) -> float:
    return float(np.mean([choices[i] == TARGET for i in OP_POSITIONS]))


def last_100_mean_reward(name: str, samples: int, **options) -> float:
    sampler = make_sampler(name, DECISIONS, seed=0, **options)
    rewards = []
    for _ in range(samples):
        suggestion = sampler.ask()
        rewards.append(reward(suggestion.choices))
        sampler.tell(suggestion.token, Outcome("ok", rewards[-1], {"params": 1.0, "macs": 1.0}))
    return float(np.mean(rewards[-100:]))


def test_random_is_near_chance():
    assert last_100_mean_reward("random", 200) == pytest.approx(1 / 13, abs=0.03)


@pytest.mark.parametrize(
    "name, samples, options",
    [
        ("controller", 200, {"algorithm": "reinforce"}),
        ("controller", 200, {"algorithm": "ppo"}),
        ("evolution", 300, {}),
        ("tpe", 200, {}),
    ],
    ids=["controller-reinforce", "controller-ppo", "evolution", "tpe"],
)
def test_learning_sampler_beats_random(name, samples, options):
    chance = 1 / 13
    assert last_100_mean_reward(name, samples, **options) > chance + 0.15
