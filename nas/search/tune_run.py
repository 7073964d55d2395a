"""A search's Tune runs: each candidate one trial with its own resources, our searcher proposing them, ASHA (when
asked) stopping poor ones, retries for trials whose worker died (the Tune call itself: nas.cluster.tune_trials).

A Tune run keeps every trial it has run in the driver and rewrites its experiment state (about 21 KB a trial) on
a timer, so one run of 10,000 trials would hold about a gigabyte more at its end than at its start (the soak in
BENCHMARKS.md). The trials therefore run in chunks of TRIALS_PER_TUNE_RUN, one `Tuner.fit` each: the searcher,
sampler and trial store carry over, Tune's bookkeeping does not. Between two chunks the workers wait only for the
last trials of the chunk to end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

from nas.cluster.trial_training import TrialSettings
from nas.cluster.tune_trials import TuneRun, fit, tune_trainable
from nas.search.candidate_trial import CandidateSettings, train_candidate
from nas.search.experiment_config import ExperimentConfig
from nas.search.experiment_folder import ExperimentPaths

TRIALS_PER_TUNE_RUN = 250


@dataclass(frozen=True)
class TuneRunEnd:
    interrupted: bool  # Ctrl-C (SIGINT): Tune stopped its trials; the search can be resumed


def run_trials(config: ExperimentConfig, recipe, paths: ExperimentPaths, searcher, splits, count: int,
               started: float | None = None) -> TuneRunEnd:
    """Run up to `count` trials (fewer if the searcher runs out or the time budget ends), in chunks; the time
    budget counts from `started` (time.monotonic(); default now), so what the search did before is inside it."""
    chunk, started = TRIALS_PER_TUNE_RUN, time.monotonic() if started is None else started
    trainable = tune_trainable(train_candidate, splits, config.resources)  # once per search, not per chunk
    run_name = f"{paths.root.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    part = 0
    while count > 0:
        budget = config.time_budget_s
        if budget is not None:
            budget -= time.monotonic() - started
            if budget <= 0:
                break
        before, asked = searcher.suggested, min(count, chunk)
        interrupted = _tune_run(config, recipe, paths, searcher, trainable, asked, budget,
                                run_name if part == 0 else f"{run_name}-part{part}")
        if interrupted:
            return TuneRunEnd(interrupted=True)
        ran = searcher.suggested - before
        if ran < asked:  # the time budget ended or the sampler ran out before the chunk did
            break
        count -= ran
        part += 1
    return TuneRunEnd(interrupted=False)


def _tune_run(config: ExperimentConfig, recipe, paths: ExperimentPaths, searcher, trainable, count: int,
              budget_s: float | None, name: str) -> bool:
    """One Tune run of at most `count` trials; whether Ctrl-C stopped it."""
    resources, early = config.resources, config.early_stopping
    scheduler = FIFOScheduler()
    if early.asha:
        # max_t is one past the last epoch: the trial's final report (status, costs) comes after it.
        scheduler = ASHAScheduler(time_attr="epoch", max_t=recipe.epochs + 1, grace_period=early.grace_period,
                                  reduction_factor=early.reduction_factor)
    settings = TrialSettings(recipe=recipe.to_dict(), imports=config.imports, cpus=resources.cpus_per_trial,
                             gpus=resources.gpus_per_trial)
    candidate = CandidateSettings(seed=config.seed, stack=config.model.stack, time_limit_s=config.trial_time_limit_s)
    return fit(trainable, TuneRun(
        name=name, storage=config.storage or paths.ray.resolve(), resources=resources,
        param_space={"settings": settings.to_dict(), "candidate": candidate.to_dict()},
        searcher=searcher, scheduler=scheduler, num_samples=count, time_budget_s=budget_s,
        max_failures=config.max_retries, metric="val_acc", mode="max"))
