"""Ray Tune wiring: each candidate one trial with its own resources, our searcher proposing them, ASHA (when
asked) stopping poor ones, FailureConfig retrying trials whose worker died."""

from __future__ import annotations

import time

from nas.search.candidate_trial import TrialSettings, train_candidate
from nas.search.experiment_config import ExperimentConfig
from nas.search.experiment_folder import ExperimentPaths


def run_trials(config: ExperimentConfig, recipe, paths: ExperimentPaths, searcher, splits, count: int) -> None:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    resources, early = config.resources, config.early_stopping
    scheduler = FIFOScheduler()
    if early.asha:
        # max_t is one past the last epoch: the trial's final report (status, costs) comes after it.
        scheduler = ASHAScheduler(time_attr="epoch", max_t=recipe.epochs + 1, grace_period=early.grace_period,
                                  reduction_factor=early.reduction_factor)
    settings = TrialSettings(seed=config.seed, recipe=recipe.to_dict(), stack=config.model.stack,
                             imports=config.imports, time_limit_s=config.trial_time_limit_s,
                             cpus=resources.cpus_per_trial, gpus=resources.gpus_per_trial)
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, splits=splits),
        {"cpu": resources.cpus_per_trial, "gpu": resources.gpus_per_trial},
    )
    storage = config.storage or str(paths.ray.resolve())
    tuner = tune.Tuner(
        trainable,
        param_space={"settings": settings.to_dict()},
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=count,
                                    max_concurrent_trials=resources.workers, metric="val_acc", mode="max",
                                    time_budget_s=config.time_budget_s,
                                    reuse_actors=True),  # halves Tune's per-trial overhead (benchmarks/)
        run_config=tune.RunConfig(name=f"{paths.root.name}-{time.strftime('%Y%m%d-%H%M%S')}", storage_path=storage,
                                  verbose=0, failure_config=tune.FailureConfig(max_failures=config.max_retries)),
    )
    tuner.fit()
