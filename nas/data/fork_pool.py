"""Process pools that end their workers gently once the work is done."""

from __future__ import annotations

import contextlib


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
