"""Ray nodes started by a test the way the README's cluster recipe starts them (`ray start`), on loopback addresses
of this machine, and stopped by the test itself: every process a node started is killed by its id, never by a
machine-wide `ray stop` that would also stop other people's Ray instances."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"  # loopback addresses that Ray keeps as given (it rewrites 127.0.0.1)


@dataclass
class Cluster:
    address: str
    token: str
    temp_dir: Path
    groups: list[int] = field(default_factory=list)  # process groups of the `ray start` commands

    def node_env(self) -> dict:
        """The environment of a node's `ray start`: token mode, and the cluster's token."""
        return {**_clean_env(), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def driver_env(self, **changes) -> dict:
        """A driver's environment: the token only (the engine switches token mode on by itself)."""
        return {**_clean_env(), "RAY_AUTH_TOKEN": self.token, **changes}

    def start_node(self, *arguments: str) -> int:
        process = subprocess.Popen(["ray", "start", *arguments, "--disable-usage-stats"], env=self.node_env(),
                                   start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output, _ = process.communicate(timeout=120)
        self.groups.append(process.pid)  # the node's daemons stay in the group of the command that started them
        if process.returncode != 0:
            raise RuntimeError(f"ray start {' '.join(arguments)} failed:\n{output[-3000:]}")
        return process.pid

    def stop_node(self, group: int) -> None:
        for pid in _processes_of(group):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        for group in self.groups:
            self.stop_node(group)


@contextlib.contextmanager
def two_node_cluster(cpus_per_node: int = 1):
    """A head on HEAD_IP and a second node on WORKER_IP, each with a resource named after it, token auth on."""
    port = free_port()
    # A short folder: Ray's socket paths under it must stay under the 107-character limit of a Unix socket.
    temp_dir = Path(tempfile.mkdtemp(prefix="nasray-", dir="/tmp"))
    cluster = Cluster(address=f"{HEAD_IP}:{port}", token=uuid.uuid4().hex, temp_dir=temp_dir)
    try:
        # The README's commands, with the addresses and resources of this test.
        cluster.start_node("--head", f"--node-ip-address={HEAD_IP}", f"--port={port}", f"--num-cpus={cpus_per_node}",
                           f"--resources={json.dumps({'head_node': 1})}", "--include-dashboard=false",
                           f"--temp-dir={temp_dir}")
        cluster.start_node(f"--address={cluster.address}", f"--node-ip-address={WORKER_IP}",
                           f"--num-cpus={cpus_per_node}", f"--resources={json.dumps({'second_node': 1})}")
        yield cluster
    finally:
        cluster.stop()
        _wait_until_gone(cluster.groups)
        shutil.rmtree(temp_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_env() -> dict:
    # A test's own Ray settings must not leak in: no address to find, no token mode from the caller.
    return {key: value for key, value in os.environ.items()
            if key not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}


def process_table() -> list[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every live process (zombies left out), from /proc."""
    table = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        if fields[0] == "Z":
            continue
        table.append((int(entry.name), int(fields[1]), int(fields[2])))
    return table


def _processes_of(group: int) -> set[int]:
    """The processes of a node's group and all their descendants (Ray's workers start groups of their own)."""
    table = process_table()
    return _with_descendants({pid for pid, _, pgid in table if pgid == group}, table)


def descendants(root: int) -> set[int]:
    """Every live process below `root`."""
    return _with_descendants({root}, process_table()) - {root}


def _with_descendants(found: set[int], table) -> set[int]:
    grew = True
    while grew:
        children = {pid for pid, parent, _ in table if parent in found} - found
        found |= children
        grew = bool(children)
    return found


def _wait_until_gone(groups: list[int], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(
            pgid in groups for _, _, pgid in process_table()):
        time.sleep(0.2)
