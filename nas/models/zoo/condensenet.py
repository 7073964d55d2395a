"""CondenseNet (Huang et al. 2018) for CIFAR: a fully dense DenseNet whose 1x1 convolutions are learned group
convolutions, pruned during training by the condensation schedule and converted to standard group convolutions
for inference.

A learned group convolution splits its output filters into G groups. Over the first half of training, at C-1
evenly spaced points (the trainer reports its progress each epoch through `set_progress`), each group drops the
1/C of the input channels whose weights, summed in absolute value over the group's filters, are smallest, until it
reads 1/C of them (condensation factor C=4). `condense(model)` then gives each group only its channels: an index
selection and a Conv2d with G groups. The paper's group-lasso penalty and the condensed classifier are left out.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from nas.models.layers import ChannelShuffle
from nas.models.registry import register_baseline
from nas.models.trainable import TrainableNetwork
from nas.models.zoo.blocks import bn_relu
from nas.models.zoo.papers import HUANG_2018

GROUPS = 4  # G of the 1x1 and 3x3 group convolutions
CONDENSATION = 4  # C


class LearnedGroupConv(nn.Module):
    """BN, ReLU and a 1x1 convolution whose weights are masked per group; `stage` counts the pruning steps done
    (a buffer, so a resumed run does not prune again)."""

    def __init__(self, c_in: int, c_out: int, groups: int = GROUPS, condensation: int = CONDENSATION):
        super().__init__()
        if c_in % condensation or c_out % groups:
            raise ValueError(f"learned group conv: {c_in} inputs, {c_out} outputs do not divide by C, G")
        self.groups, self.condensation = groups, condensation
        self.norm = nn.Sequential(*bn_relu(c_in))
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.register_buffer("mask", torch.ones(c_out, c_in))
        self.register_buffer("stage", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.conv.weight * self.mask[:, :, None, None]
        return nn.functional.conv2d(self.norm(x), weight)

    def condense_to(self, stage: int) -> None:
        """Prune up to `stage` (of C-1): each group drops its weakest 1/C of the inputs it still reads."""
        per_step = self.conv.in_channels // self.condensation
        while int(self.stage) < stage:
            with torch.no_grad():
                strength = (self.conv.weight[:, :, 0, 0] * self.mask).abs()
                for index, rows in enumerate(strength.chunk(self.groups)):  # the groups' filters are contiguous
                    summed = rows.sum(0).masked_fill(self.mask[index * rows.shape[0]] == 0, float("inf"))
                    weakest = summed.argsort()[:per_step]
                    self.mask[index * rows.shape[0]:(index + 1) * rows.shape[0], weakest] = 0
            self.stage += 1

    def kept_inputs(self) -> list[torch.Tensor]:
        """The input channels each group still reads, in order."""
        rows = self.mask.shape[0] // self.groups
        return [self.mask[index * rows].nonzero().flatten() for index in range(self.groups)]


class CondensedConv(nn.Module):
    """A learned group convolution after condensation: BN and ReLU on all inputs, each group's channels selected,
    a standard 1x1 group convolution."""

    def __init__(self, learned: LearnedGroupConv):
        super().__init__()
        self.norm = learned.norm
        kept = learned.kept_inputs()
        self.register_buffer("index", torch.cat(kept))
        self.conv = nn.Conv2d(len(self.index), learned.conv.out_channels, 1, groups=learned.groups, bias=False)
        rows = learned.conv.out_channels // learned.groups
        with torch.no_grad():
            for group, channels in enumerate(kept):
                block = slice(group * rows, (group + 1) * rows)
                self.conv.weight[block] = learned.conv.weight[block][:, channels]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.norm(x).index_select(1, self.index))


class CondenseLayer(nn.Module):
    """A dense layer: learned group 1x1 conv to 4k channels, channel shuffle, BN-ReLU-3x3 group conv to k; the
    input concatenated before the output."""

    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.conv1 = LearnedGroupConv(c_in, 4 * growth)
        self.shuffle = ChannelShuffle(GROUPS)
        self.conv2 = nn.Sequential(*bn_relu(4 * growth),
                                   nn.Conv2d(4 * growth, growth, 3, padding=1, groups=GROUPS, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv2(self.shuffle(self.conv1(x)))], dim=1)


class CondenseNet(TrainableNetwork):
    """CondenseNet for CIFAR: a 3x3 stem of 2*k0 filters, three dense blocks of `layers` layers with growth rates
    doubling by block (exponentially increasing growth), joined by 2x2 average pooling only (full dense
    connectivity), BN-ReLU, global pooling and a linear classifier."""

    def __init__(self, layers: tuple[int, ...], growths: tuple[int, ...], num_classes: int = 10,
                 in_channels: int = 3):
        super().__init__()
        channels = 2 * growths[0]
        features: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)]
        for block, (count, growth) in enumerate(zip(layers, growths)):
            if block:
                features.append(nn.AvgPool2d(2))
            for _ in range(count):
                features.append(CondenseLayer(channels, growth))
                channels += growth
        self.features = nn.Sequential(*features, *bn_relu(channels), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))

    def set_progress(self, progress: float) -> None:
        """Condensation stage k (of C-1) is reached at progress k / (2 (C-1)): all of it in the first half."""
        stage = min(int(progress * 2 * (CONDENSATION - 1) + 1e-9), CONDENSATION - 1)
        for module in self.modules():
            if isinstance(module, LearnedGroupConv):
                module.condense_to(stage)

    def inference_params(self) -> int:
        """Parameters once condensed: each learned 1x1 convolution keeps 1/C of its weights."""
        pruned = sum(m.conv.weight.numel() * (CONDENSATION - 1) // CONDENSATION
                     for m in self.modules() if isinstance(m, LearnedGroupConv))
        return sum(p.numel() for p in self.parameters()) - pruned


def condense(model: nn.Module) -> nn.Module:
    """Replace every fully condensed learned group convolution by a standard group convolution, in place."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, LearnedGroupConv):
                if int(child.stage) < child.condensation - 1:
                    raise ValueError("condense() needs a fully condensed model: train it through half its epochs")
                setattr(parent, name, CondensedConv(child))
    return model


# name: (layers per block, growth rates, parameters as printed in Table 2 of the paper, CIFAR-10)
CONDENSENETS = {"condensenet86": ((14, 14, 14), (8, 16, 32), "0.52M"),
                "condensenet182": ((30, 30, 30), (12, 24, 48), "4.2M")}


for _name, (_layers, _growths, _published) in CONDENSENETS.items():
    register_baseline(_name, partial(CondenseNet, _layers, _growths), image_size=32, paper=HUANG_2018,
                      published_params=_published,
                      description=f"CIFAR CondenseNet-{_name.removeprefix('condensenet')} (G=C=4), condensed in "
                                  f"training")
