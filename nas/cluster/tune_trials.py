"""Running trials as one Ray Tune run: the one place the engine calls `tune.Tuner`, for a search's candidates
(proposed one by one by a searcher) and a campaign's jobs (a fixed list) alike.

Each trial function has one shape, `trial(config: dict, splits) -> None`, reporting through `tune.report`; the data
split travels once through Ray's object store (`tune.with_parameters`), not inside every trial's config.

Tune's TensorBoard logger is left out (its CSV and JSON loggers, each trial's progress.csv and result.json, stay):
it opens a tensorboardX writer per trial, and tensorboardX registers an atexit hook holding each writer that is
never removed, so the driver kept every trial's closed writer (a dozen objects, a few KB) until it exited.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ray import tune
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

from nas.cluster.resources import Resources


def tune_trainable(trial: Callable[[dict, object], None], splits, resources: Resources):
    """`trial` as Tune runs it: with the data split put into the object store once, and the trial's resources.
    Make it once per search or campaign: each call puts `splits` into the object store again and Ray keeps the
    reference (in a hook it never drops), so every call would pin one more copy of the data."""
    return tune.with_resources(tune.with_parameters(trial, splits=splits), resources.ray_request())


@dataclass
class TuneRun:
    """One `Tuner.fit`: what to run, where Tune keeps its own state, and how trials are proposed and stopped."""

    name: str  # Tune's experiment name: a folder under `storage`
    storage: str | Path  # a folder or a URI Tune writes its state to (shared storage on a cluster)
    param_space: dict  # every trial's config (a `tune.grid_search` in it makes one trial per value)
    resources: Resources
    callbacks: list = field(default_factory=list)  # Tune callbacks of the caller (rows written as trials end)
    searcher: object = None  # a Tune Searcher proposing each trial's config, or None
    scheduler: object = None  # e.g. ASHA; None: every trial runs to its end
    num_samples: int = 1  # trials (times each grid point)
    time_budget_s: float | None = None
    max_failures: int = 0  # Tune retries of a trial whose worker died
    metric: str | None = None  # what the searcher and scheduler maximise
    mode: str | None = None


def fit(trainable, run: TuneRun) -> bool:
    """Run the trials; whether Ctrl-C stopped the run (Tune stops its trials gracefully on the first one)."""
    tuner = tune.Tuner(
        trainable,
        param_space=run.param_space,
        tune_config=tune.TuneConfig(search_alg=run.searcher, scheduler=run.scheduler, num_samples=run.num_samples,
                                    max_concurrent_trials=run.resources.workers, metric=run.metric, mode=run.mode,
                                    time_budget_s=run.time_budget_s,
                                    reuse_actors=True),  # halves Tune's per-trial overhead (benchmarks/)
        run_config=tune.RunConfig(name=run.name, storage_path=str(run.storage), verbose=0,
                                  callbacks=[*_trial_loggers(), *run.callbacks],
                                  failure_config=tune.FailureConfig(max_failures=run.max_failures)),
    )
    with _noticing_sigint() as interrupted, _trials_on_prestarted_workers():
        tuner.fit()
        return interrupted()


@contextlib.contextmanager
def _trials_on_prestarted_workers():
    """Tune gives its trial actors a runtime environment of their own ({PL_DISABLE_FORK: 1}, for PyTorch Lightning,
    which the engine does not use), and Ray starts a fresh worker for an actor whose runtime environment differs from
    the job's: the workers a local Ray pre-started, with the trial's modules already imported (ray_session.py), would
    sit idle while each trial waited about 5 s for its own. Without that variable the actors take the pre-started
    workers. Tune still propagates the variables it must (cloud credentials, its own flags) when they are set; then
    the actors start fresh workers, as before. Ray internals: if they move, trials start slower, no worse."""
    from ray.tune.execution import class_cache  # here: Tune's internals, needed only while a run starts

    defaults = getattr(class_cache, "DEFAULT_ENV_VARS", None)
    if not isinstance(defaults, dict) or "PL_DISABLE_FORK" not in defaults:
        yield
        return
    value = defaults.pop("PL_DISABLE_FORK")
    try:
        yield
    finally:
        defaults["PL_DISABLE_FORK"] = value


def _trial_loggers() -> list:
    """Tune's CSV and JSON trial loggers, without the TensorBoard one it would add (see the module docstring)."""
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
