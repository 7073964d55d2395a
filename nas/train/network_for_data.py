"""The network a recipe trains on a dataset: one place for `nas train` and for every search candidate."""

from __future__ import annotations

import torch

from nas.models import build_model, default_stack, is_nasbench201_arch
from nas.train.recipe import Recipe


def network_for_data(*, recipe: Recipe, num_classes: int, in_channels: int, image_size: int, genotype=None,
                     baseline: str | None = None, stack: str | None = None, seed: int = 0,
                     channels: int | None = None, cells: int | None = None) -> torch.nn.Module:
    """A cell stack, a NAS-Bench-201 network or a baseline, sized for the data.

    A cell network's width and depth are the recipe's (`channels`, `cells`; where the recipe leaves them null,
    the stack's published size). A NAS-Bench-201 string builds the benchmark's network (C=16, 17 cells): the
    recipe's sizes are for cell stacks, and only `channels` / `cells` given here change it (what the user asked
    for on the command line; a cell stack reads them from the recipe, where `nas train` puts them too). Weights
    are initialised from `seed`, so the same seed gives the same network wherever it is built (a Ray worker that
    trained other candidates before included). Without a stack, small images get the CIFAR stack and larger ones
    the DARTS ImageNet stack.
    """
    torch.manual_seed(seed)
    if is_nasbench201_arch(genotype):
        return build_model(genotype=genotype, channels=channels, cells=cells, num_classes=num_classes,
                           in_channels=in_channels, image_size=image_size)
    cell_network = genotype is not None
    return build_model(
        genotype=genotype, baseline=baseline,
        stack=stack or default_stack(image_size),
        channels=recipe.channels if cell_network else None,
        cells=recipe.cells if cell_network else None,
        num_classes=num_classes, in_channels=in_channels, image_size=image_size,
        auxiliary=cell_network and recipe.auxiliary_weight > 0, drop_path=recipe.drop_path,
    )
