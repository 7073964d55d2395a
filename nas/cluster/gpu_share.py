"""`--gpus-per-trial auto`: how many networks share one GPU, from a short probe of one network of the run on a GPU
of the cluster (nas.train.gpu_packing), so the GPUs train as many at once as raise total throughput."""

from __future__ import annotations

import dataclasses

import ray
from torch import nn

from nas.cluster.resources import AUTO_GPUS, Resources
from nas.cluster.trial_training import NetworkToTrain
from nas.errors import ConfigError, failure_line
from nas.models.trainable import training_forward
from nas.train.gpu_packing import choose_gpu_fraction
from nas.train.network_for_data import network_for_data
from nas.train.recipe import Recipe
from nas.train.step_setup import make_optimizer
from nas.train.trainer import loss_function


def probe_network(network: NetworkToTrain, recipe_fields: dict, data_shape: tuple[int, int, int], num_classes: int):
    """Runs on a GPU (a Ray task with one GPU): the share of a GPU one network like `network` should get."""
    recipe = Recipe(**recipe_fields)
    channels, image_size, _ = data_shape
    model = network_for_data(recipe=recipe, genotype=network.genotype, baseline=network.baseline,
                             stack=network.stack, num_classes=num_classes, in_channels=channels,
                             image_size=image_size, seed=network.seed)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    return choose_gpu_fraction(
        model, lambda parameters: make_optimizer(parameters, recipe, graph=True),
        lambda module: loss_function(training_forward(module), criterion, recipe.auxiliary_weight),
        batch_shape=(recipe.batch_size, channels, image_size, image_size), num_classes=num_classes,
        grad_clip=recipe.grad_clip, bf16=recipe.bf16, channels_last=recipe.channels_last, device="cuda")


def resolve_gpu_share(resources: Resources, network: NetworkToTrain, recipe, splits, print_line=print) -> Resources:
    """`resources` with `gpus_per_trial: auto` replaced by the probed share of `network` (0 on a cluster without
    GPUs), and enough workers to fill every GPU with it."""
    if resources.gpus_per_trial != AUTO_GPUS:
        return resources
    described = network.baseline or f"the cell {network.genotype}"
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus == 0:
        print_line("gpus_per_trial auto: the Ray cluster has no GPU, so networks train on CPUs")
        return dataclasses.replace(resources, gpus_per_trial=0)
    probe = ray.remote(num_gpus=1, num_cpus=0)(probe_network)
    try:
        share = ray.get(probe.remote(network, recipe.to_dict(), (splits.channels, splits.image_size,
                                                                 splits.image_size), splits.num_classes))
    except ray.exceptions.RayTaskError as error:  # the network itself fails: say so in one line
        raise ConfigError(f"gpus_per_trial auto: probing {described} on a GPU failed: "
                          f"{failure_line(error.as_instanceof_cause())}; give a number instead") from None
    workers = max(resources.workers, gpus * share.trials_per_gpu)
    print_line(f"gpus_per_trial auto: {share.trials_per_gpu} network(s) per GPU, {share.fraction:g} GPU each "
               f"({share.reason}); {workers} at once on {gpus} GPU(s)")
    return dataclasses.replace(resources, workers=workers, gpus_per_trial=share.fraction)
