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


# What every Ray worker gets: OpenMP threads that spin while idle take the CPU from a neighbouring trial; and the
# variable Tune would give its trial actors (nas.cluster.tune_trials._trials_on_prestarted_workers).
WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "PL_DISABLE_FORK": "1"}


def start_ray(address: str | None, resources: Resources, preload: tuple[str, ...] = ()) -> None:
    """A local Ray (or the cluster at `address`), checked to have room for one trial. A local Ray's workers import
    the `preload` modules as they start, before any trial is given to them (a trial's imports take seconds)."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # our progress lines replace Tune's console tables
    address = address or os.environ.get("RAY_ADDRESS") or None  # Ray's own variable is an explicit choice too
    if not ray.is_initialized():
        if address is None:
            _start_local_ray(preload)
        else:
            join_cluster(address, _init)
    available = ray.cluster_resources()
    gpus = resources.gpus_per_trial if isinstance(resources.gpus_per_trial, (int, float)) else 0  # auto: probed later
    for name, asked in (("CPU", resources.cpus_per_trial), ("GPU", gpus)):
        if asked > available.get(name, 0):
            raise ConfigError(f"each trial asks for {asked:g} {name}(s), but the Ray cluster has "
                              f"{available.get(name, 0):g}: no trial could ever start")


def _init(address: str, runtime_env: dict | None = None) -> None:
    """ray.init; a cluster's workers get WORKER_ENV through the job's runtime environment."""
    sigterm_handler = signal.getsignal(signal.SIGTERM)
    runtime_env = {"env_vars": WORKER_ENV} if runtime_env is None else runtime_env
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             runtime_env=runtime_env or None)
    if callable(sigterm_handler):  # ray.init replaces the one the CLI set (stop as on Ctrl-C): put it back
        with contextlib.suppress(ValueError):  # not the main thread: Ray set none either
            signal.signal(signal.SIGTERM, sigterm_handler)


def _start_local_ray(preload: tuple[str, ...]) -> None:
    # A local Ray's workers inherit the environment its raylet is started with, so WORKER_ENV goes there rather than
    # into a runtime environment: with one (Ray 2.60, measured here), every trial actor got a fresh worker instead of
    # a pre-started one, and paid 4-6 s of imports on 2 cores after asking for it.
    # "local": a new instance even when `ray start` left a cluster's address in /tmp/ray for `ray.init()` to find.
    variables = {**WORKER_ENV, **({"RAY_preload_python_modules": ",".join(preload)} if preload else {})}
    with _loopback_only(), _environment(variables):
        try:
            _init("local", runtime_env={})
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ConfigError(f"cannot start a local Ray: {str(error).splitlines()[0]}") from None
    watch_driver()  # so a driver killed with SIGKILL leaves no Ray agents behind


@contextlib.contextmanager
def _environment(variables: dict[str, str]):
    """These environment variables while Ray starts its processes (they keep them), the driver's own afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _loopback_only():
    """Ray's node address is 127.0.0.1 while Ray starts (its servers inherit the setting and keep it)."""
    saved_constant = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # read at call time; the variable alone is read at import
    try:
        with _environment({MULTI_NODE_SWITCH: "0"}):
            yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_constant
