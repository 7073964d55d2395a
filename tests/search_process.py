"""Searches run as processes of their own, as a user runs them, so that faults chosen in their environment reach
the Ray workers they start, and so that they can be SIGKILLed. Used by tests/test_faults.py and
benchmarks/soak.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from search_fixtures import REPOSITORY

EXTENSIONS = REPOSITORY / "tests" / "extensions"


def search_env(fault_dir: Path, faults: str | None = None, seed: int = 0) -> dict:
    """This process's environment for a driver: the extensions importable, faults (tests/extensions/faults.py) as
    given and nothing else."""
    # Without RAY_ADDRESS a search starts a local Ray of its own, which its SIGKILL takes down with it.
    env = {key: value for key, value in os.environ.items() if not key.startswith("NAS_FAULT") and key != "RAY_ADDRESS"}
    path = [str(EXTENSIONS), str(REPOSITORY), env.get("PYTHONPATH", "")]
    env.update(PYTHONPATH=os.pathsep.join(filter(None, path)), PYTHONUNBUFFERED="1", NAS_FAULT_DIR=str(fault_dir),
               NAS_FAULT_SEED=str(seed))
    if faults:
        env["NAS_FAULTS"] = faults
    return env


def search_command(config: Path, *flags: str) -> list[str]:
    return [sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config), *flags]


def run_search(command: list[str], env: dict, cwd: Path, *, kill_after: float | None = None,
               once: Callable[[], bool] = lambda: True, timeout_s: float = 300,
               watch: Callable[[int], None] = lambda pid: None) -> tuple[int | None, str]:
    """Run a driver in a session of its own; return its exit code (None when killed) and its output.

    With `kill_after`, SIGKILL the driver and the local Ray it started that many seconds after `once()` first
    holds. `watch(pid)` is called every 0.1 s while the driver runs (the soak reads its memory there)."""
    log = cwd / f"driver-{len(list(cwd.glob('driver-*.log')))}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True, stdout=output,
                                   stderr=subprocess.STDOUT)
        launched, since = time.monotonic(), None
        while process.poll() is None and time.monotonic() - launched < timeout_s:
            watch(process.pid)
            since = since or (time.monotonic() if once() else None)
            if kill_after is not None and since is not None and time.monotonic() - since > kill_after:
                break
            time.sleep(0.1)
        code = process.poll()
        kill_group(process)
    text = log.read_text()
    killed_on_time = kill_after is not None and since is not None
    assert code is not None or killed_on_time, f"the search ran past {timeout_s} s:\n{text[-3000:]}"
    return code, text


def kill_group(process: subprocess.Popen) -> None:
    """The driver and whatever of its local Ray is left (the group is the driver's own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
