"""One driver per experiment: the lock refuses a second driver, and a dead driver's lock never blocks a resume."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from nas.errors import ConfigError
from nas.cluster import driver_lock
from nas.cluster.driver_lock import LOCK_FILE, DriverLock
from search_fixtures import REPOSITORY, write_config


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid  # reaped: no process has this pid now (a new one would have another start time)


def test_a_second_driver_is_refused_while_the_first_holds_the_lock(tmp_path):
    with DriverLock(tmp_path, "exp") as first:
        assert first.acquire() is None
        holder = json.loads((tmp_path / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid() and holder["host"]
        second = DriverLock(tmp_path, "exp")
        with pytest.raises(ConfigError, match=f"being run by another driver \\(pid {os.getpid()}"):
            second.check_free()
        with pytest.raises(ConfigError, match="one driver per experiment"):
            second.acquire()
    assert not (tmp_path / LOCK_FILE).exists()  # released
    DriverLock(tmp_path, "exp").check_free()


def test_a_dead_drivers_lock_is_taken_over(tmp_path):
    lock_path = tmp_path / LOCK_FILE
    lock_path.write_text(json.dumps({"host": driver_lock.socket.gethostname(), "pid": _dead_pid(),
                                     "process_start": 1, "since": "earlier", "id": "old"}))
    lock = DriverLock(tmp_path, "exp")
    lock.check_free()
    message = lock.acquire()
    assert message and "took over the lock of a driver that is gone" in message
    assert json.loads(lock_path.read_text())["pid"] == os.getpid()
    lock.release()


def test_a_reused_pid_does_not_keep_a_lock(tmp_path):
    # Our own pid, but recorded with another start time: the process that wrote it is gone.
    (tmp_path / LOCK_FILE).write_text(json.dumps({"host": driver_lock.socket.gethostname(), "pid": os.getpid(),
                                                  "process_start": -5, "since": "earlier", "id": "old"}))
    lock = DriverLock(tmp_path, "exp")
    assert lock.acquire() is not None
    lock.release()


def test_a_lock_from_another_machine_holds_while_its_heartbeat_is_fresh(tmp_path, monkeypatch):
    lock_path = tmp_path / LOCK_FILE
    lock_path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "since": "now", "id": "remote"}))
    with pytest.raises(ConfigError, match="pid 1 on elsewhere"):
        DriverLock(tmp_path, "exp").acquire()
    stale = time.time() - driver_lock.STALE_AFTER_S - 60
    os.utime(lock_path, (stale, stale))
    lock = DriverLock(tmp_path, "exp")
    assert "pid 1 on elsewhere" in lock.acquire()
    lock.release()


def test_the_heartbeat_keeps_the_lock_fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(driver_lock, "HEARTBEAT_S", 0.05)
    with DriverLock(tmp_path, "exp") as lock:
        lock.acquire()
        old = time.time() - 1000
        os.utime(tmp_path / LOCK_FILE, (old, old))
        time.sleep(0.3)
        assert time.time() - (tmp_path / LOCK_FILE).stat().st_mtime < 5


def test_a_half_written_lock_is_nobodys(tmp_path):
    (tmp_path / LOCK_FILE).write_text('{"host": "x", "pi')
    lock = DriverLock(tmp_path, "exp")
    assert lock.acquire() is not None
    lock.release()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow  # a real search, a second driver started on it while it runs, then a resume after a kill
def test_two_drivers_on_one_experiment(tmp_path, image_folder):
    results = tmp_path / "results"
    # Far more trials than can finish while the second driver starts: the first is still running when it checks.
    config = write_config(tmp_path / "c.yaml", image_folder, results, name="shared", trials=1000,
                          resources={"workers": 1})
    command = [sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config)]
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    csv = results / "shared" / "trials.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not csv.exists():
        time.sleep(0.1)
    assert csv.exists(), first.communicate()[1][-2000:]
    experiment_file = _digest(results / "shared" / "experiment.yaml")
    second = subprocess.run(command + ["--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert first.poll() is None  # still running: the refusal below is the lock's
    assert second.returncode == 2
    assert second.stderr.strip().count("\n") == 0 and "being run by another driver" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    os.killpg(first.pid, signal.SIGKILL)  # the first driver dies holding the lock
    first.wait()
    done = len(pd.read_csv(csv))
    assert (results / "shared" / LOCK_FILE).exists()

    resumed = subprocess.run(command + ["--resume", "--trials", str(done + 2)], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "took over the lock of a driver that is gone" in resumed.stdout
    trials = pd.read_csv(csv)
    assert len(trials) == done + 2 and trials["hash"].is_unique and trials["token"].is_unique
    assert set(trials["status"]) == {"ok"}
    assert not (results / "shared" / LOCK_FILE).exists()
    assert _digest(results / "shared" / "experiment.yaml") == experiment_file
