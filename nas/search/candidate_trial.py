"""What one Ray Tune trial runs: build the candidate's network, train it with the recipe, report each epoch.

Runs inside a Ray worker process. Errors that come from the candidate (a network that cannot be built, a
training step that raises) are caught and reported as a `failed` result with the reason, because trying the same
candidate again would fail the same way; only a worker that dies is retried by Tune.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import ray
from ray import tune

from nas.errors import failure_line
from nas.registry import import_user_modules
from nas.search.trial_report import TrialReport


@dataclass(frozen=True)
class TrialSettings:
    """The same for every trial of a search; travels to the workers as plain data."""

    seed: int
    recipe: dict  # resolved in the driver: a recipe file need not exist where the trial runs
    stack: str
    imports: tuple[str, ...] = ()
    time_limit_s: float | None = None
    cpus: float = 1
    gpus: float = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def train_candidate(config: dict, splits=None) -> None:
    """Tune's trainable: `config` holds `settings` (TrialSettings as a dict) and the searcher's `genotype`."""
    # Imported here so the driver does not pay for torch model code it never runs.
    from nas.models.profile import count_params_and_macs
    from nas.space.genotype import Genotype
    from nas.train.device_choice import claim_trial_device
    from nas.train.network_for_data import network_for_data
    from nas.train.recipe import Recipe
    from nas.train.trainer import train

    settings = TrialSettings(**config["settings"])
    started = time.monotonic()
    device = claim_trial_device(settings.cpus, settings.gpus)
    report = TrialReport(device=device, node=ray.util.get_node_ip_address())

    def on_epoch(metrics: dict) -> bool:
        report.val_acc_per_epoch.append(float(metrics["val_acc"]))
        report.val_acc, report.epoch = report.val_acc_per_epoch[-1], len(report.val_acc_per_epoch)
        tune.report(report.to_metrics())
        return settings.time_limit_s is not None and time.monotonic() - started > settings.time_limit_s

    try:
        import_user_modules(settings.imports)
        recipe = Recipe(**settings.recipe)
        model = network_for_data(recipe=recipe, genotype=Genotype.parse(config["genotype"]), stack=settings.stack,
                                 num_classes=splits.num_classes, in_channels=splits.channels,
                                 image_size=splits.image_size, seed=settings.seed)
        costs = count_params_and_macs(model, (1, splits.channels, splits.image_size, splits.image_size))
        report.params, report.macs = costs["params"], costs["macs"]
        report.setup_s = round(time.monotonic() - started, 3)
        result = train(model, splits, recipe, device=device, seed=settings.seed, on_epoch=on_epoch, progress=False)
        report.val_acc = result.val_acc if result.val_acc is not None else 0.0
        report.train_time_s, report.images_per_sec = result.wall_time, result.images_per_sec
        report.step_s = round(sum(epoch["train_seconds"] for epoch in result.history), 3)
        if result.status == "ok":
            report.status = "ok"
        elif result.status == "diverged":
            report.status, report.error = "diverged", "training loss became NaN or infinite"
        else:  # stopped by on_epoch: the per-trial time limit
            report.status = "pruned"
            report.error = f"stopped at the per-trial time limit of {settings.time_limit_s} s"
    except Exception as error:  # noqa: BLE001 - the candidate's failure is data for the search, not a crash
        report.status, report.error = "failed", failure_line(error)
        report.val_acc = 0.0
    report.final = True
    tune.report(report.to_metrics())
