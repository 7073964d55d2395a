"""Scoring a search's candidates with a zero-cost proxy where its trials run: one Ray task per scoring call, on a
trial's device with a trial's threads (the GPU when trials get one; see `task_options` for why it reserves none),
building each candidate exactly as its trial would (nas.train.network_for_data: same stack, size, classes and
seed). The driver only decodes the candidates and waits; it never builds a network.

A candidate the proxy cannot score (it cannot be built, a proxy fails on it) comes back as NaN with the reason, so
a sampler ranks it last and the search goes on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import ray
import torch

from nas.errors import failure_line
from nas.registry import import_user_modules
from nas.train.device_choice import claim_trial_device
from nas.train.network_for_data import network_for_data
from nas.train.recipe import Recipe
from nas.zero_cost import score_built_network


@dataclass(frozen=True)
class ProxyScoringSettings:
    """What every candidate of a search is built and scored with; travels to the task as plain data."""

    proxies: tuple[str, ...]
    recipe: dict  # the search's resolved recipe: channels, cells, auxiliary head, drop path
    stack: str
    seed: int
    num_classes: int
    in_channels: int
    image_size: int
    imports: tuple[str, ...] = ()
    cpus: float = 1
    gpus: float = 0


@dataclass
class CandidateScores:
    values: dict[str, float]  # NaN where the proxy could not score the candidate
    seconds: float  # building and scoring it
    reason: str = ""  # why a value is NaN; "" when every proxy scored it


def score_genotypes(genotypes: Sequence[str], settings: ProxyScoringSettings, inputs: torch.Tensor,
                    targets: torch.Tensor) -> list[CandidateScores]:
    """Build and score each genotype on the batch, on the device the task was given (runs in a Ray worker)."""
    device = claim_trial_device(settings.cpus, settings.gpus)
    import_user_modules(settings.imports)
    recipe = Recipe(**settings.recipe)
    inputs, targets = inputs.to(device), targets.to(device)
    scored = []
    for genotype in genotypes:
        started = time.perf_counter()

        def build(genotype=genotype):
            return network_for_data(recipe=recipe, genotype=genotype, stack=settings.stack,
                                    num_classes=settings.num_classes, in_channels=settings.in_channels,
                                    image_size=settings.image_size, seed=settings.seed)

        try:
            scores = score_built_network(build, inputs, targets, settings.proxies, num_classes=settings.num_classes,
                                         seed=settings.seed)
            values, reason = scores.values, "; ".join(scores.reasons.values())
        except Exception as error:  # noqa: BLE001 - a candidate that cannot be built is a NaN score, not a crash
            values, reason = {name: math.nan for name in settings.proxies}, failure_line(error)
        scored.append(CandidateScores(values, time.perf_counter() - started, reason))
    return scored


_remote_score_genotypes = ray.remote(max_retries=1)(score_genotypes)
# Ray sets CUDA_VISIBLE_DEVICES to none for a task that reserves no GPU; this leaves the node's GPUs visible.
SEE_GPUS = {"env_vars": {"RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES": "1"}}


def task_options(settings: ProxyScoringSettings) -> dict:
    """The scoring task reserves nothing. When the driver asks for scores, Ray Tune holds every trial slot: the
    running ones, and the one that just ended, kept (reuse_actors) for the very candidate being chosen. A task that
    reserved a trial's CPUs or GPU share waited for that slot forever (a search hung after its first trial); it
    runs on the idle slot's CPUs instead, with a trial's thread count, and on the GPU when trials get one."""
    return {"num_cpus": 0, "num_gpus": 0, **({"runtime_env": SEE_GPUS} if settings.gpus else {})}


@dataclass
class RayProxyScorer:
    """The `scorer` of nas.samplers.proxy_guided.ProxyGuidedSampler: choices -> one {proxy: value} each, scored by
    a Ray task. Keeps each candidate's reason (by its decision vector) and the task's own seconds. Plain data, so a
    search's searcher pickles with it (Ray Tune pickles it)."""

    space: object  # decodes a decision vector to the genotype a trial trains
    settings: ProxyScoringSettings
    inputs: torch.Tensor  # the proxy batch (nas.zero_cost.batch.proxy_batch), on the CPU
    targets: torch.Tensor
    reasons: dict = field(default_factory=dict)  # choices -> why a proxy gave NaN
    task_seconds: float = 0.0  # building and scoring, summed over candidates, in the tasks

    def __call__(self, candidates: Sequence[tuple[int, ...]]) -> list[dict[str, float]]:
        genotypes = [str(self.space.decode(choices)) for choices in candidates]
        task = _remote_score_genotypes.options(**task_options(self.settings))
        scored = ray.get(task.remote(genotypes, self.settings, self.inputs, self.targets))
        for choices, result in zip(candidates, scored):
            if result.reason:
                self.reasons[tuple(choices)] = result.reason
            self.task_seconds += result.seconds
        return [result.values for result in scored]
