"""Starting (or joining) Ray for a search, checked to have room for one trial before anything is written."""

from __future__ import annotations

import logging
import os

from nas.errors import ConfigError
from nas.search.experiment_config import Resources


def start_ray(address: str | None, resources: Resources) -> None:
    """A local Ray (or the cluster at `address`), checked to have room for one trial."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # our progress lines replace Tune's console tables
    import ray

    if not ray.is_initialized():
        try:
            # PASSIVE: OpenMP threads that spin while idle take the CPU from a neighbouring trial.
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE"}})
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ConfigError(f"cannot start or join Ray at {address or 'a local instance'}: "
                              f"{str(error).splitlines()[0]}") from None
    available = ray.cluster_resources()
    gpus = resources.gpus_per_trial if isinstance(resources.gpus_per_trial, (int, float)) else 0  # auto: probed later
    for name, asked in (("CPU", resources.cpus_per_trial), ("GPU", gpus)):
        if asked > available.get(name, 0):
            raise ConfigError(f"each trial asks for {asked:g} {name}(s), but the Ray cluster has "
                              f"{available.get(name, 0):g}: no trial could ever start")
