"""What each trial asks Ray for, and how many trials run at once: the same for a search and a campaign."""

from __future__ import annotations

from dataclasses import dataclass

AUTO_GPUS = "auto"  # gpus_per_trial: chosen by probing a network on a GPU of the cluster (nas.cluster.gpu_share)


@dataclass(frozen=True)
class Resources:
    workers: int = 2  # trials at once
    cpus_per_trial: float = 1
    gpus_per_trial: float | str = 0  # fractions (0.25) let several small proxies share one GPU; or "auto"

    def ray_request(self) -> dict:
        """What Tune reserves for one trial (`auto` has been resolved to a number by then)."""
        return {"cpu": self.cpus_per_trial, "gpu": self.gpus_per_trial}
