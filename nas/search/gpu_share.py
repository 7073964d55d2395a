"""`--gpus-per-trial auto`: how many candidates share one GPU, from a short probe of a candidate of this search on
a GPU of the cluster (nas.train.gpu_packing), so the GPUs run as many proxies at once as raise total throughput."""

from __future__ import annotations

import dataclasses
import random

from nas.search.experiment_config import AUTO_GPUS, ExperimentConfig


def probe_candidate(genotype: str, recipe_fields: dict, stack: str, data_shape: tuple[int, int, int],
                    num_classes: int):
    """Runs on a GPU (a Ray task with one GPU): the share of a GPU one candidate like `genotype` should get."""
    from torch import nn

    from nas.models.trainable import training_forward
    from nas.space.genotype import Genotype
    from nas.train.gpu_packing import choose_gpu_fraction
    from nas.train.network_for_data import network_for_data
    from nas.train.recipe import Recipe
    from nas.train.step_setup import make_optimizer
    from nas.train.trainer import loss_function

    recipe = Recipe(**recipe_fields)
    channels, image_size, _ = data_shape
    model = network_for_data(recipe=recipe, genotype=Genotype.parse(genotype), stack=stack, num_classes=num_classes,
                             in_channels=channels, image_size=image_size)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    return choose_gpu_fraction(
        model, lambda parameters: make_optimizer(parameters, recipe, graph=True),
        lambda network: loss_function(training_forward(network), criterion, recipe.auxiliary_weight),
        batch_shape=(recipe.batch_size, channels, image_size, image_size), num_classes=num_classes,
        grad_clip=recipe.grad_clip, bf16=recipe.bf16, channels_last=recipe.channels_last, device="cuda")


def resolve_gpu_share(config: ExperimentConfig, space, recipe, splits, print_line=print) -> ExperimentConfig:
    """The config with `gpus_per_trial: auto` replaced by the probed share (0 on a cluster without GPUs), and
    enough workers to fill every GPU with it."""
    resources = config.resources
    if resources.gpus_per_trial != AUTO_GPUS:
        return config
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus == 0:
        print_line("gpus_per_trial auto: the Ray cluster has no GPU, so candidates train on CPUs")
        return config.replace(resources=dataclasses.replace(resources, gpus_per_trial=0))
    genotype = str(space.decode(space.sample(random.Random(config.seed))))
    probe = ray.remote(num_gpus=1, num_cpus=0)(probe_candidate)
    share = ray.get(probe.remote(genotype, recipe.to_dict(), config.model.stack,
                                 (splits.channels, splits.image_size, splits.image_size), splits.num_classes))
    workers = max(resources.workers, gpus * share.trials_per_gpu)
    print_line(f"gpus_per_trial auto: {share.trials_per_gpu} candidate(s) per GPU, {share.fraction:g} GPU each "
               f"({share.reason}); {workers} at once on {gpus} GPU(s)")
    return config.replace(resources=dataclasses.replace(resources, workers=workers, gpus_per_trial=share.fraction))
