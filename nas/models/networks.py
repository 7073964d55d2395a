"""Networks stacked from one normal and one reduction cell: the CIFAR stack, the DARTS ImageNet stack and the
NASNet mobile/large ImageNet stacks (tensorflow/models research/slim/nets/nasnet).

All stacks share one body: `cells` cells with reduction cells at 1/3 and 2/3 of the depth (DARTS' rule; 20 cells
give NASNet's N=6 normal cells per stage, 14 give N=4), filters doubling at each reduction. They differ in the stem.
"""

from __future__ import annotations

import torch
from torch import nn

from nas.errors import ConfigError, GenotypeError
from nas.models.cell import CellModule
from nas.models.registry import register_model
from nas.models.trainable import TrainableNetwork, TrainingOutput
from nas.space.genotype import Genotype


class AuxiliaryHead(nn.Module):
    """Auxiliary classifier after the 2/3 point (DARTS' head). DARTS pools the 8x8 CIFAR map with a 5x5/3 window to
    2x2; adaptive pooling to 2x2 gives the same parameters for any input size."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(2),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class CifarStem(nn.Module):
    """3x3 conv to stem_multiplier * C channels; both cell inputs of the first cell are its output."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(out_channels))
        self.channels = (out_channels, out_channels)
        self.reduces = False

    def forward(self, x: torch.Tensor, drop_prob: float = 0.0):
        x = self.conv(x)
        return x, x


class DartsImageNetStem(nn.Module):
    """DARTS' ImageNet stem: conv s2 to C/2, conv s2 to C, then conv s2; a 224 px input reaches the cells at 28 px."""

    def __init__(self, in_channels: int, channels: int):
        super().__init__()
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, channels // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // 2, channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.channels = (channels, channels)
        self.reduces = True  # node 0 (stem0) is twice the resolution of node 1 (stem1)

    def forward(self, x: torch.Tensor, drop_prob: float = 0.0):
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


class NasnetImageNetStem(nn.Module):
    """NASNet's ImageNet stem: a 3x3 stride-2 'valid' conv with 32 x stem_multiplier filters, then two reduction
    cells with C/4 and C/2 filters (TF-slim `_imagenet_stem`): 224 px reaches the first normal cell at 28 px."""

    def __init__(self, genotype: Genotype, in_channels: int, channels: int, stem_multiplier: int):
        super().__init__()
        stem_filters = 32 * stem_multiplier
        self.conv = nn.Sequential(nn.Conv2d(in_channels, stem_filters, 3, stride=2, padding=0, bias=False),
                                  nn.BatchNorm2d(stem_filters))
        try:
            self.cell1 = CellModule(genotype.reduce, stem_filters, stem_filters, channels // 4, reduction=True,
                                    reduction_prev=False)
            self.cell2 = CellModule(genotype.reduce, stem_filters, self.cell1.out_channels, channels // 2,
                                    reduction=True, reduction_prev=True)
        except GenotypeError as error:
            # The op names the stem cell's width, which the user never gave: say where it comes from
            raise GenotypeError(f"{error}, in the NASNet stem, whose reduction cells work at C//4 = {channels // 4} "
                                f"and C//2 = {channels // 2} of --channels {channels}") from None
        self.channels = (self.cell1.out_channels, self.cell2.out_channels)
        self.reduces = True

    def forward(self, x: torch.Tensor, drop_prob: float = 0.0):
        x = self.conv(x)
        s1 = self.cell1(x, x, drop_prob)
        return s1, self.cell2(x, s1, drop_prob)


def reduction_indices(cells: int) -> tuple[int, int]:
    return cells // 3, 2 * cells // 3


class CellNetwork(TrainableNetwork):
    """A stem, `cells` cells and a classifier. `forward` returns logits; `forward_train` the logits and, in
    training with an auxiliary head, the auxiliary logits. The trainer ramps drop-path with `set_drop_path`."""

    def __init__(self, genotype: Genotype, stem: nn.Module, channels: int, cells: int, num_classes: int,
                 auxiliary: bool = False, drop_path: float = 0.0, final_relu: bool = False, dropout: float = 0.0):
        super().__init__()
        if cells < 1:
            raise ConfigError(f"a cell network needs at least 1 cell, got cells={cells}")
        if channels < 1:
            raise ConfigError(f"channels must be positive, got {channels}")
        self.genotype = genotype
        self.stem = stem
        self.drop_path = float(drop_path)  # the largest value; the trainer may ramp drop_path_prob up to it
        self.drop_path_prob = float(drop_path)
        reductions = reduction_indices(cells)
        self.aux_index = reductions[1]

        c_prev_prev, c_prev = stem.channels
        reduction_prev = stem.reduces
        c_curr = channels
        self.cells = nn.ModuleList()
        aux_channels = None
        for index in range(cells):
            reduction = index in reductions
            if reduction:
                c_curr *= 2
            cell = CellModule(genotype.reduce if reduction else genotype.normal, c_prev_prev, c_prev, c_curr,
                              reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.out_channels
            if index == self.aux_index:
                aux_channels = c_prev
        self.auxiliary_head = AuxiliaryHead(aux_channels, num_classes) if auxiliary else None
        self.final_relu = nn.ReLU(inplace=False) if final_relu else nn.Identity()  # NASNet: ReLU before pooling
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(c_prev, num_classes)
        self.out_channels = c_prev

    def set_drop_path(self, probability: float) -> None:
        self.drop_path_prob = float(probability)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_train(x).logits

    def forward_train(self, x: torch.Tensor) -> TrainingOutput:
        s0, s1 = self.stem(x, self.drop_path_prob)
        aux_logits = None
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if index == self.aux_index and self.auxiliary_head is not None and self.training:
                aux_logits = self.auxiliary_head(s1)
        out = self.global_pooling(self.final_relu(s1)).flatten(1)
        return TrainingOutput(self.classifier(self.dropout(out)), aux_logits)


SMALL_IMAGE_STACK = "cifar"  # the stack a cell gets when nothing names one: for small images (CIFAR, 32 px)
LARGE_IMAGE_STACK = "imagenet"  # and for ImageNet-size images
SMALL_IMAGE_MAX_SIDE = 64


def default_stack(image_size: int) -> str:
    return SMALL_IMAGE_STACK if image_size <= SMALL_IMAGE_MAX_SIDE else LARGE_IMAGE_STACK


@register_model(SMALL_IMAGE_STACK, kind="stack", image_size=32, channels=36, cells=20,
                description="CIFAR stack (DARTS): 3x3 conv stem to 3C, cells with reductions at 1/3 and 2/3")
def cifar_network(genotype: Genotype, *, channels: int, cells: int, num_classes: int, in_channels: int = 3,
                  auxiliary: bool = False, drop_path: float = 0.0, stem_multiplier: int = 3) -> CellNetwork:
    stem = CifarStem(in_channels, stem_multiplier * channels)
    return CellNetwork(genotype, stem, channels, cells, num_classes, auxiliary, drop_path)


@register_model(LARGE_IMAGE_STACK, kind="stack", image_size=224, channels=48, cells=14,
                description="DARTS ImageNet stack: three stride-2 convs in the stem, then the cells")
def imagenet_network(genotype: Genotype, *, channels: int, cells: int, num_classes: int, in_channels: int = 3,
                     auxiliary: bool = False, drop_path: float = 0.0) -> CellNetwork:
    stem = DartsImageNetStem(in_channels, channels)
    return CellNetwork(genotype, stem, channels, cells, num_classes, auxiliary, drop_path)


def _nasnet_network(genotype, channels, cells, num_classes, in_channels, auxiliary, drop_path, stem_multiplier):
    if channels < 4:
        raise ConfigError(f"NASNet stacks need at least 4 filters (the stem cells use C/4), got {channels}")
    stem = NasnetImageNetStem(genotype, in_channels, channels, stem_multiplier)
    # TF-slim: ReLU before the global pooling, dropout (keep 0.5) before the classifier.
    return CellNetwork(genotype, stem, channels, cells, num_classes, auxiliary, drop_path, final_relu=True,
                       dropout=0.5)


@register_model("nasnet-mobile", kind="stack", image_size=224, channels=44, cells=14,
                description="NASNet mobile (4@1056): conv + 2 stem reduction cells, N=4, 44 filters, 224 px")
def nasnet_mobile(genotype: Genotype, *, channels: int, cells: int, num_classes: int, in_channels: int = 3,
                  auxiliary: bool = False, drop_path: float = 0.0) -> CellNetwork:
    return _nasnet_network(genotype, channels, cells, num_classes, in_channels, auxiliary, drop_path, 1)


@register_model("nasnet-large", kind="stack", image_size=331, channels=168, cells=20,
                description="NASNet large (6@4032): stem multiplier 3, N=6, 168 filters, 331 px")
def nasnet_large(genotype: Genotype, *, channels: int, cells: int, num_classes: int, in_channels: int = 3,
                 auxiliary: bool = False, drop_path: float = 0.0) -> CellNetwork:
    return _nasnet_network(genotype, channels, cells, num_classes, in_channels, auxiliary, drop_path, 3)
