"""The network a recipe trains on a dataset: one place for `nas train` and for every search candidate."""

from __future__ import annotations

import torch

from nas.models import build_model, default_stack
from nas.train.recipe import Recipe


def network_for_data(*, recipe: Recipe, num_classes: int, in_channels: int, image_size: int, genotype=None,
                     baseline: str | None = None, stack: str | None = None, seed: int = 0) -> torch.nn.Module:
    """A cell stack or a baseline, sized for the data.

    A cell network's width and depth are the recipe's (`channels`, `cells`; where the recipe leaves them null,
    the stack's published size). Weights are initialised from `seed`, so the same seed gives the same network
    wherever it is built (a Ray worker that trained other candidates before included). Without a stack, small
    images get the CIFAR stack and larger ones the DARTS ImageNet stack.
    """
    torch.manual_seed(seed)
    cell_network = genotype is not None
    return build_model(
        genotype=genotype, baseline=baseline,
        stack=stack or default_stack(image_size),
        channels=recipe.channels if cell_network else None,
        cells=recipe.cells if cell_network else None,
        num_classes=num_classes, in_channels=in_channels, image_size=image_size,
        auxiliary=cell_network and recipe.auxiliary_weight > 0, drop_path=recipe.drop_path,
    )
