"""The training every Ray Tune trial does, a search's candidate or a campaign's job: claim the trial's device,
import the user's modules, build the network, count its cost, train it with the recipe.

Runs inside a Ray worker. An error of the network itself (it cannot be built, a training step raises) comes back
as `error`, not as an exception: training the same network again would fail the same way, so it is a result for
the caller's table; only a worker that dies is retried by Tune.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

from nas.errors import failure_line
from nas.models.profile import count_params_and_macs
from nas.registry import import_user_modules
from nas.train.device_choice import claim_trial_device, describe_device
from nas.train.network_for_data import network_for_data
from nas.train.recipe import Recipe
from nas.train.trainer import train


@dataclass(frozen=True)
class TrialSettings:
    """The same for every trial of one Tune run; travels to the workers as plain data."""

    recipe: dict  # resolved in the driver: a recipe file need not exist where the trial runs
    imports: tuple[str, ...] = ()
    cpus: float = 1
    gpus: float = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class NetworkToTrain:
    """One network and seed. Exactly one of `genotype` (one-line form) and `baseline` is set."""

    seed: int
    genotype: str | None = None
    baseline: str | None = None
    stack: str | None = None  # cell networks: how the cell is stacked (None: by image size)


@dataclass
class TrainedNetwork:
    device: str = ""  # what the trial was given: cuda or cpu
    device_name: str = ""  # the same in words, for the tables: `cuda:0 (NVIDIA H100 80GB HBM3)`
    params: int | None = None
    macs: int | None = None
    num_classes: int | None = None  # of the data: chance level is 1/num_classes (nas.train.degenerate)
    setup_s: float | None = None  # claiming the device, the imports, building the network and counting its cost
    result: object = None  # the trainer's TrainResult; None when the network failed before or while training
    error: str = ""  # why it failed: one line


def train_network(network: NetworkToTrain, settings: TrialSettings, splits,
                  on_built: Callable[[TrainedNetwork], None] | None = None, **train_options) -> TrainedNetwork:
    """Train `network` on `splits` with the settings' recipe; `on_built` sees the device and costs before the first
    epoch (a trial's epoch reports carry them, so a trial the scheduler stops early still has them), and
    `train_options` go to the trainer (on_epoch, checkpoint_path, eval_test, ...)."""
    started = time.monotonic()
    device = claim_trial_device(settings.cpus, settings.gpus)
    trained = TrainedNetwork(device=device, device_name=describe_device(device))
    try:
        import_user_modules(settings.imports)
        recipe = Recipe(**settings.recipe)
        model = network_for_data(recipe=recipe, genotype=network.genotype, baseline=network.baseline,
                                 stack=network.stack, num_classes=splits.num_classes, in_channels=splits.channels,
                                 image_size=splits.image_size, seed=network.seed)
        costs = count_params_and_macs(model, (1, splits.channels, splits.image_size, splits.image_size))
        trained.params, trained.macs, trained.num_classes = costs["params"], costs["macs"], splits.num_classes
        trained.setup_s = round(time.monotonic() - started, 3)
        if on_built is not None:
            on_built(trained)
        trained.result = train(model, splits, recipe, device=device, seed=network.seed, progress=False,
                               **train_options)
    except Exception as error:  # noqa: BLE001 - the network's failure is a row in a table, not a crash
        trained.error = failure_line(error)
    return trained
