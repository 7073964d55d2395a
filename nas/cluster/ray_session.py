"""Starting (or joining) Ray for a search, checked to have room for one trial before anything is written.

A local Ray is this machine's alone: its servers listen on 127.0.0.1 only. Ray has no authentication unless a
token is set up, so a Ray listening on every interface (its default) lets anyone who reaches the machine run code
in it. Serving or joining a cluster is the user's explicit choice, `--ray-address` (see nas.cluster.ray_cluster).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal

import ray
from ray._private import ray_constants

from nas.errors import ConfigError
from nas.cluster.resources import Resources
from nas.cluster.ray_cluster import join_cluster
from nas.cluster.ray_watchdog import watch_driver

# Ray binds its servers to 127.0.0.1 only when a node's address is 127.0.0.1, and it turns that address into the
# machine's network address unless multi-node clusters are switched off, which is this variable's job.
MULTI_NODE_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def start_ray(address: str | None, resources: Resources) -> None:
    """A local Ray (or the cluster at `address`), checked to have room for one trial."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # our progress lines replace Tune's console tables
    address = address or os.environ.get("RAY_ADDRESS") or None  # Ray's own variable is an explicit choice too
    if not ray.is_initialized():
        if address is None:
            _start_local_ray()
        else:
            join_cluster(address, _init)
    available = ray.cluster_resources()
    gpus = resources.gpus_per_trial if isinstance(resources.gpus_per_trial, (int, float)) else 0  # auto: probed later
    for name, asked in (("CPU", resources.cpus_per_trial), ("GPU", gpus)):
        if asked > available.get(name, 0):
            raise ConfigError(f"each trial asks for {asked:g} {name}(s), but the Ray cluster has "
                              f"{available.get(name, 0):g}: no trial could ever start")


def _init(address: str) -> None:
    sigterm_handler = signal.getsignal(signal.SIGTERM)
    # PASSIVE: OpenMP threads that spin while idle take the CPU from a neighbouring trial.
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE"}})
    if callable(sigterm_handler):  # ray.init replaces the one the CLI set (stop as on Ctrl-C): put it back
        with contextlib.suppress(ValueError):  # not the main thread: Ray set none either
            signal.signal(signal.SIGTERM, sigterm_handler)


def _start_local_ray() -> None:
    # "local": a new instance even when `ray start` left a cluster's address in /tmp/ray for `ray.init()` to find.
    with _loopback_only():
        try:
            _init("local")
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ConfigError(f"cannot start a local Ray: {str(error).splitlines()[0]}") from None
    watch_driver()  # so a driver killed with SIGKILL leaves no Ray agents behind


@contextlib.contextmanager
def _loopback_only():
    """Ray's node address is 127.0.0.1 while Ray starts (its servers inherit the setting and keep it)."""
    saved_variable, saved_constant = os.environ.get(MULTI_NODE_SWITCH), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[MULTI_NODE_SWITCH] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False  # read at call time; the variable alone is read at import
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_constant
        if saved_variable is None:
            os.environ.pop(MULTI_NODE_SWITCH, None)
        else:
            os.environ[MULTI_NODE_SWITCH] = saved_variable
