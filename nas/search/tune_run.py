"""Ray Tune wiring: each candidate one trial with its own resources, our searcher proposing them, ASHA (when
asked) stopping poor ones, FailureConfig retrying trials whose worker died.

A Tune run keeps every trial it has run in the driver and rewrites its experiment state (about 21 KB a trial) on
a timer, so one run of 10,000 trials would hold about a gigabyte more at its end than at its start (the soak in
BENCHMARKS.md). The trials therefore run in chunks of TRIALS_PER_TUNE_RUN, one `Tuner.fit` each: the searcher,
sampler and trial store carry over, Tune's bookkeeping does not. Between two chunks the workers wait only for the
last trials of the chunk to end.

Tune's TensorBoard logger is left out (its CSV and JSON loggers, each trial's progress.csv and result.json, stay):
it opens a tensorboardX writer per trial, and tensorboardX registers an atexit hook holding each writer that is
never removed, so the driver kept every trial's closed writer (a dozen objects, a few KB) until it exited, chunks
or not.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

from nas.search.candidate_trial import TrialSettings, train_candidate
from nas.search.experiment_config import ExperimentConfig
from nas.search.experiment_folder import ExperimentPaths

TRIALS_PER_TUNE_RUN = 250


@dataclass(frozen=True)
class TuneRunEnd:
    interrupted: bool  # Ctrl-C (SIGINT): Tune stopped its trials; the search can be resumed


def run_trials(config: ExperimentConfig, recipe, paths: ExperimentPaths, searcher, splits, count: int) -> TuneRunEnd:
    """Run up to `count` trials (fewer if the searcher runs out or the time budget ends), in chunks."""
    from ray import tune

    chunk, started = TRIALS_PER_TUNE_RUN, time.monotonic()
    # Once per search, not per chunk: each with_parameters puts `splits` into the object store again and keeps the
    # reference (in a hook Ray never drops), so every chunk would pin one more copy of the search split there.
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, splits=splits),
        {"cpu": config.resources.cpus_per_trial, "gpu": config.resources.gpus_per_trial},
    )
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
    """One `Tuner.fit` of at most `count` trials; whether Ctrl-C stopped it."""
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
    storage = config.storage or str(paths.ray.resolve())
    tuner = tune.Tuner(
        trainable,
        param_space={"settings": settings.to_dict()},
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=count,
                                    max_concurrent_trials=resources.workers, metric="val_acc", mode="max",
                                    time_budget_s=budget_s,
                                    reuse_actors=True),  # halves Tune's per-trial overhead (benchmarks/)
        run_config=tune.RunConfig(name=name, storage_path=storage, verbose=0, callbacks=_trial_loggers(),
                                  failure_config=tune.FailureConfig(max_failures=config.max_retries)),
    )
    with _noticing_sigint() as interrupted:
        tuner.fit()
        return interrupted()


def _trial_loggers() -> list:
    """Tune's CSV and JSON trial loggers, without the TensorBoard one it would add (see the module docstring)."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    # Read by Tune in the driver when Tuner.fit makes its callbacks: otherwise it adds each missing default logger.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    return [CSVLoggerCallback(), JsonLoggerCallback()]


class _SigintMarker:
    """The SIGINT handler in place while Tune runs. Tune installs its own over it for the run and, on the first
    Ctrl-C, stops the run gracefully and puts this one back: so it being back after the run means Ctrl-C came. A
    second Ctrl-C while Tune winds down reaches it and interrupts at once."""

    def __call__(self, signum, frame):
        raise KeyboardInterrupt


@contextlib.contextmanager
def _noticing_sigint():
    """Yields a function telling whether Ctrl-C stopped the Tune run made inside."""
    marker = _SigintMarker()
    try:
        previous = signal.signal(signal.SIGINT, marker)
    except ValueError:  # not the main thread: Tune installs no handler there either
        yield lambda: False
        return
    try:
        yield lambda: signal.getsignal(signal.SIGINT) is marker
    finally:
        signal.signal(signal.SIGINT, previous)
