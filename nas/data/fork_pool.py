"""Process pools that end their workers gently once the work is done, and a switch that keeps work in-process
while forking would be unsafe."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys

_held = 0  # open no_forks() blocks, process-wide: the thread that forks is not the one that starts Ray


@contextlib.contextmanager
def no_forks():
    """Within this block the data loaders decode in this process instead of forking a pool: a process that starts
    or runs Ray must not fork (a forked child breaks the driver's connection to Ray's GCS: the search then dies
    60 s later with 'Failed to connect to GCS')."""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1


def forks_allowed() -> bool:
    """False inside no_forks() and in a process connected to Ray (a test's, or a driver's after its search)."""
    ray = sys.modules.get("ray")  # not imported here: the data layer needs no Ray to decide
    return _held == 0 and not (ray is not None and hasattr(ray, "is_initialized") and ray.is_initialized())


def fork_context():
    """The fork start method where the platform has it: workers start at once and inherit the imported torch."""
    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)


@contextlib.contextmanager
def closed_when_done(pool):
    """A pool whose workers, once the work is done, are told to finish and waited for; terminated (SIGTERM) only when
    the work failed or was interrupted. `with Pool()` always terminates, and a worker that a SIGTERM reached at the
    wrong moment (it inherits the handlers of the process that forked it) could stay blocked on the task queue,
    leaving the pool waiting for it forever: it happened once in CI, in a test that decodes a folder."""
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
