"""One driver per result folder (a search's experiment, a transfer's or comparison's campaign): `driver.lock` in
the folder names the driver that holds it.

Two drivers on one experiment both rewrite trials.csv and the sampler's state, so one loses the other's trials;
a second `--resume` (or the same `--name` typed twice) is refused while the first runs. A lock whose holder is
gone is taken over, so a crashed or killed driver never blocks its own resume: on the holder's machine a lock is
stale when its process is gone (or its pid now belongs to a later process); seen from another machine, when the
holder's heartbeat (the lock's modification time, touched every HEARTBEAT_S) is older than STALE_AFTER_S.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from nas.errors import ConfigError

LOCK_FILE = "driver.lock"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0


class DriverLock:
    def __init__(self, folder: Path, name: str):
        self.path = Path(folder) / LOCK_FILE
        self.name = name
        self._holder = {"host": socket.gethostname(), "pid": os.getpid(), "process_start": _process_start(os.getpid()),
                        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"), "id": uuid.uuid4().hex}
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def check_free(self) -> None:
        """Refuse (ConfigError) if a live driver holds the lock; writes nothing."""
        holder = self._read()
        if holder is not None and _alive(holder, self.path):
            raise ConfigError(_held_line(self.name, holder, self.path))

    def acquire(self) -> str | None:
        """Take the lock (the folder must exist); returns a line to print when a dead driver's lock was taken over."""
        for _ in range(3):  # a lock that vanishes or changes between our reads: look again
            if self._create():
                self._start_heartbeat()
                return None
            holder = self._read()
            if holder is None:
                continue
            if _alive(holder, self.path):
                raise ConfigError(_held_line(self.name, holder, self.path))
            if self._take_over(holder):
                self._start_heartbeat()
                return (f"took over the lock of a driver that is gone (pid {holder.get('pid')} on "
                        f"{holder.get('host')}, since {holder.get('since')})")
        raise ConfigError(f"cannot lock experiment {self.name!r}: {self.path} keeps changing; is another driver "
                          f"starting on it?")

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        holder = self._read()
        if holder is not None and holder.get("id") == self._holder["id"]:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.release()

    # --- helpers ---------------------------------------------------------------------------------------------

    def _create(self) -> bool:
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self._holder, handle)
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def _take_over(self, stale: dict) -> bool:
        # Move the stale lock aside (only one driver's rename can succeed), check it was the one judged stale,
        # then create ours; a lock that turns out to be another's is put back.
        aside = self.path.with_name(f"{LOCK_FILE}.stale-{self._holder['id']}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        if _read_holder(aside) != stale:
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.path)
            aside.unlink()
            return False
        aside.unlink()
        return self._create()

    def _read(self) -> dict | None:
        return _read_holder(self.path)

    def _start_heartbeat(self) -> None:
        def beat():
            while not self._stop.wait(HEARTBEAT_S):
                with contextlib.suppress(OSError):
                    os.utime(self.path)

        self._heartbeat = threading.Thread(target=beat, name="experiment-lock-heartbeat", daemon=True)
        self._heartbeat.start()


UNREADABLE = {"host": "", "pid": None, "since": "?", "id": "unreadable"}


@contextlib.contextmanager
def holding_lock(folder: Path, name: str, print_line=print):
    """Hold the folder's lock for the block, saying so when a dead driver's lock was taken over."""
    with DriverLock(folder, name) as lock:
        took_over = lock.acquire()
        if took_over:
            print_line(took_over)
        yield lock


def _read_holder(path: Path) -> dict | None:
    """The holder a lock file names; UNREADABLE for a file half-written by a driver killed while creating it
    (nobody holds such a lock); None when there is no lock."""
    try:
        holder = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return UNREADABLE
    return holder if isinstance(holder, dict) else UNREADABLE


def _alive(holder: dict, path: Path) -> bool:
    if holder is UNREADABLE:
        return False
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        start = _process_start(holder["pid"])
        if start is None:
            return False
        return holder.get("process_start") in (None, start)  # the same pid, a later process: the holder is gone
    try:
        return time.time() - path.stat().st_mtime < STALE_AFTER_S
    except FileNotFoundError:
        return False


def _process_start(pid: int):
    """When process `pid` started (clock ticks since boot, from /proc), so a reused pid is told apart; None if no
    such process. Without /proc, only whether the pid exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "unknown"


def _held_line(name: str, holder: dict, path: Path) -> str:
    return (f"experiment {name!r} is being run by another driver (pid {holder.get('pid')} on {holder.get('host')}, "
            f"since {holder.get('since')}): one driver per experiment; if that driver is gone for good, delete "
            f"{path}")
