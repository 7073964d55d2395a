"""Stops what a local Ray leaves behind when its driver is killed with SIGKILL.

Ray ties its GCS and raylet to the driver's life, but its dashboard and runtime-env agents outlive a driver killed
with SIGKILL and stay, orphaned, until the machine reboots. `watch_driver()` starts this file as a small process
beside the driver: it learns the driver's descendants while the driver lives (the agents lose that lineage once
orphaned) and, when the driver's end of its stdin pipe closes (the driver exited or was killed), stops those that
are still running. Linux only (it reads /proc); elsewhere it does nothing. Standard library only: it runs as a
script, without the package on its path.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 1.0
_watchdog = None  # the driver keeps the pipe to its watchdog open for as long as it lives


def watch_driver() -> None:
    """Start the watchdog for this process (once per process)."""
    global _watchdog
    if _watchdog is not None or not Path("/proc/self/stat").exists():
        return
    _watchdog = subprocess.Popen([sys.executable, __file__, str(os.getpid())], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time) of every live process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), int(fields[19]))
    return table


def _descendants(root: int, table: dict[int, tuple[int, int]]) -> set[tuple[int, int]]:
    found, frontier = set(), {root}
    while frontier:
        children = {pid for pid, (parent, _) in table.items() if parent in frontier and pid != os.getpid()}
        frontier = {pid for pid in children if (pid, table[pid][1]) not in found}
        found |= {(pid, table[pid][1]) for pid in children}
    return found


def _stop(processes: set[tuple[int, int]]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        table = _processes()
        alive = [pid for pid, start in processes if table.get(pid, (0, None))[1] == start]  # not a reused pid
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(1.0)


def main(driver: int) -> None:
    known: set[tuple[int, int]] = set()
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], POLL_S)
        if readable and not os.read(sys.stdin.fileno(), 1024):
            break  # the pipe closed: the driver is gone
        known |= _descendants(driver, _processes())
    _stop(known)


if __name__ == "__main__":
    main(int(sys.argv[1]))
