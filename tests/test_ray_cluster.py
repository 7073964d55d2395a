"""Ray for a search: a local Ray that only this machine can reach, and the README's cluster recipe run for real
(two `ray start` nodes with token authentication, a search joining by HOST:PORT, a node lost mid-search)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nas.errors import ConfigError
from nas.cluster.resources import Resources
from nas.cluster.ray_cluster import split_address
from search_fixtures import REPOSITORY, write_config
from ray_nodes import HEAD_IP, WORKER_IP, descendants, free_port, two_node_cluster


def _outward_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None on a machine without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: any routable address does
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


@pytest.mark.usefixtures("ray_session")
def test_a_local_ray_listens_on_loopback_only():
    import ray

    from nas.cluster.ray_session import start_ray

    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no network address to try from")
    start_ray(None, Resources(workers=1, cpus_per_trial=1, gpus_per_trial=0))
    node = ray.nodes()[0]
    ports = {"GCS": int(ray.get_runtime_context().gcs_address.rsplit(":", 1)[1]),
             "raylet": node["NodeManagerPort"], "object manager": node["ObjectManagerPort"]}
    assert node["NodeManagerAddress"] == "127.0.0.1"
    for name, port in ports.items():
        assert _reachable("127.0.0.1", port), name
        assert not _reachable(outward, port), f"the {name} port {port} answers on {outward}"


@pytest.mark.slow  # a real search, its driver killed with SIGKILL
def test_a_driver_killed_with_sigkill_leaves_no_ray_process_behind(tmp_path, image_folder):
    config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results", name="orphans", trials=40,
                          resources={"workers": 1})
    driver = subprocess.Popen([sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config)],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    csv = tmp_path / "results" / "orphans" / "trials.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not csv.exists():
        time.sleep(0.2)
    ray_processes = descendants(driver.pid) - {_watchdog_of(driver.pid)}
    names = {_name(pid) for pid in ray_processes}
    assert {"gcs_server", "raylet", "ray::DashboardAgent", "ray::RuntimeEnvAgent"} <= names, names
    driver.kill()  # SIGKILL: no atexit, no ray.shutdown
    driver.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_running(pid) for pid in ray_processes):
        time.sleep(0.5)
    assert not [_name(pid) for pid in ray_processes if _running(pid)]


def _watchdog_of(pid: int) -> int | None:
    return next((child for child in descendants(pid) if "ray_watchdog" in _command(child)), None)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _name(pid: int) -> str:
    command = _command(pid).split()
    return Path(command[0]).name if command else "?"


def _running(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("address", ["nocolon", "host:", ":6379", "host:99999", "host:port"])
def test_a_malformed_ray_address_is_refused(address):
    with pytest.raises(ConfigError, match="HOST:PORT"):
        split_address(address)


TRIAL_EPOCHS = 120  # about 0.05 s an epoch on the test images: a trial outlasts a trial actor's start


def _search(tmp_path, image_folder, address, env, *extra, name="cluster", trials=4, epochs=1):
    config = write_config(tmp_path / f"{name}.yaml", image_folder, tmp_path / "results", name=name, trials=trials,
                          resources={"workers": 2, "cpus_per_trial": 1, "gpus_per_trial": 0},
                          recipe_overrides={"epochs": epochs})
    command = [sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config),
               "--ray-address", address, *extra]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_nothing_listening_at_the_address_is_one_line(tmp_path, image_folder):
    finished = _search(tmp_path, image_folder, f"127.0.0.1:{free_port()}", None)
    assert finished.returncode == 2
    assert finished.stderr.strip().count("\n") == 0 and "nothing answers at" in finished.stderr
    assert not (tmp_path / "results").exists()


def test_ray_address_in_the_environment_is_joined_like_the_flag(tmp_path, image_folder):
    config = write_config(tmp_path / "c.yaml", image_folder, tmp_path / "results")
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{free_port()}"}
    finished = subprocess.run([sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2 and "nothing answers at 127.0.0.1" in finished.stderr


OTHER_PROGRAMS_RAY = """
import sys, time
from nas.cluster.resources import Resources
from nas.cluster.ray_session import start_ray
start_ray(None, Resources(workers=1, cpus_per_trial=1, gpus_per_trial=0))
print("ready", flush=True)
sys.stdin.read()  # until the test closes it
"""


def test_auto_beside_another_programs_local_ray_is_one_line_within_seconds(tmp_path, image_folder):
    # Ray resolves `auto` to any Ray running here, at the machine's network address; a search's own local Ray
    # listens on loopback only, so ray.init retried there for minutes.
    other = subprocess.Popen([sys.executable, "-c", OTHER_PROGRAMS_RAY], cwd=REPOSITORY, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
    try:
        assert other.stdout.readline().strip() == "ready"
        started = time.monotonic()
        env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
        finished = _search(tmp_path, image_folder, "auto", env)
        elapsed = time.monotonic() - started
    finally:
        other.stdin.close()
        other.wait(timeout=60)
    assert finished.returncode == 2, finished.stderr[-2000:]
    assert finished.stderr.strip().count("\n") == 0 and "--ray-address auto:" in finished.stderr
    assert elapsed < 45  # the check's own timeout is 5 s; the rest is the driver's start
    assert not (tmp_path / "results").exists()


@pytest.mark.slow  # two `ray start` nodes and a search on them
def test_the_readme_cluster_recipe_runs_a_search_on_both_nodes(tmp_path, image_folder):
    with two_node_cluster() as cluster:
        # Refused in one line, before anything is written: no token, a wrong token, a GPU the cluster lacks.
        refusals = {
            "requires an authentication token and this machine has none":
                cluster.driver_env(RAY_AUTH_TOKEN="", HOME=str(tmp_path)),
            "refused the token from RAY_AUTH_TOKEN": cluster.driver_env(RAY_AUTH_TOKEN="0" * 32),
        }
        for message, env in refusals.items():
            finished = _search(tmp_path, image_folder, cluster.address, env)
            assert finished.returncode == 2 and message in finished.stderr, finished.stderr[-2000:]
            assert finished.stderr.strip().count("\n") == 0
        finished = _search(tmp_path, image_folder, cluster.address, cluster.driver_env(), "--gpus-per-trial", "1")
        assert finished.returncode == 2 and "the Ray cluster has 0" in finished.stderr
        assert not (tmp_path / "results").exists()

        # Trials of a few seconds: Tune gives a trial to whichever trial actor is ready, so trials of a tenth of a
        # second would all run on the first node's actor before the second node's had started.
        finished = _search(tmp_path, image_folder, cluster.address, cluster.driver_env(), epochs=TRIAL_EPOCHS)
        assert finished.returncode == 0, finished.stderr[-3000:]
    trials = pd.read_csv(tmp_path / "results" / "cluster" / "trials.csv")
    assert len(trials) == 4 and set(trials["status"]) == {"ok"}
    assert set(trials["node"]) == {HEAD_IP, WORKER_IP}  # one CPU a node, two trials at once: both nodes train


@pytest.mark.slow  # two `ray start` nodes; one is killed while it trains
def test_a_node_lost_mid_search_costs_no_trial(tmp_path, image_folder):
    with two_node_cluster() as cluster:
        config_trials = 8
        config = write_config(tmp_path / "lost.yaml", image_folder, tmp_path / "results", name="lost",
                              trials=config_trials, resources={"workers": 2, "cpus_per_trial": 1, "gpus_per_trial": 0},
                              recipe_overrides={"epochs": TRIAL_EPOCHS}, max_retries=3)
        command = [sys.executable, str(REPOSITORY / "run_search.py"), "--config", str(config),
                   "--ray-address", cluster.address]
        driver = subprocess.Popen(command, cwd=tmp_path, env=cluster.driver_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        csv = tmp_path / "results" / "lost" / "trials.csv"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not (csv.exists() and WORKER_IP in set(pd.read_csv(csv)["node"])):
            time.sleep(0.1)
        done_before = len(pd.read_csv(csv))
        cluster.stop_node(cluster.groups[1])  # the second node dies, with the trial it went on to train
        output, errors = driver.communicate(timeout=300)
        assert driver.returncode == 0, errors[-3000:]
    assert done_before < config_trials
    trials = pd.read_csv(csv)
    assert len(trials) == config_trials and trials["hash"].is_unique and trials["token"].is_unique
    # The trial that was training on the lost node is recorded failed, with the reason; every other one trains.
    lost = trials[trials["status"] != "ok"]
    assert len(lost) <= 1 and set(lost["status"]) <= {"failed"}
    assert all("worker died" in str(error) for error in lost["error"]), lost["error"]
    assert WORKER_IP in set(trials["node"][:done_before])
    assert set(trials[trials["status"] == "ok"]["node"][done_before:]) == {HEAD_IP}
