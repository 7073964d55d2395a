"""CondenseNet (Huang et al. 2018) for CIFAR: a fully dense DenseNet whose 1x1 convolutions are learned group
convolutions, pruned during training by the condensation schedule and converted to standard group convolutions
for inference.

A learned group convolution splits its output filters into G groups. Over the first half of training, at C-1
evenly spaced points (the trainer reports its progress each epoch through `set_progress`), each group drops the
1/C of the input channels whose weights, summed in absolute value over the group's filters, are smallest, until it
reads 1/C of them (condensation factor C=4). Until then a group-lasso penalty on the learned convolutions' weights
(the sum, over groups and inputs, of the L2 norm of a group's weights on an input) is added to the training loss,
so that what gets pruned matters little. `condense(model)` then gives each group only its channels (an index
selection and a Conv2d with G groups) and keeps half of the classifier's inputs, those it weighs most, as the
authors' conversion does. The counts the paper prints are those of the condensed network (`inference_model`).
"""

from __future__ import annotations

import copy
from functools import partial

import torch
from torch import nn

from nas.models.layers import ChannelShuffle
from nas.models.registry import register_baseline
from nas.models.trainable import TrainableNetwork, TrainingOutput
from nas.models.zoo.blocks import bn_relu, conv3x3
from nas.models.zoo.papers import HUANG_2018

GROUPS = 4  # G of the 1x1 and 3x3 group convolutions
CONDENSATION = 4  # C
GROUP_LASSO = 1e-5  # weight of the group-lasso penalty: the authors' value (their CIFAR script leaves it at 0)
CLASSIFIER_KEEP = 0.5  # share of the classifier's inputs that condensation keeps


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

    def group_lasso(self) -> torch.Tensor:
        """Sum over groups and input channels of the L2 norm of the weights one group gives one input: pushes
        each group to rely on few inputs, so that pruning the weakest costs little."""
        weight = (self.conv.weight[:, :, 0, 0] * self.mask).view(self.groups, -1, self.conv.in_channels)
        return weight.pow(2).sum(1).clamp(min=1e-12).sqrt().sum()  # clamp: no infinite gradient at a pruned 0


class CondensedConv(nn.Module):
    """A learned group convolution after condensation: BN and ReLU on all inputs, each group's channels selected,
    a standard 1x1 group convolution. Built empty (`shaped_like`) or from a condensed one (`from_learned`)."""

    def __init__(self, norm: nn.Module, c_out: int, groups: int, kept_per_group: int):
        super().__init__()
        self.norm = norm
        self.register_buffer("index", torch.zeros(groups * kept_per_group, dtype=torch.long))
        self.conv = nn.Conv2d(groups * kept_per_group, c_out, 1, groups=groups, bias=False)

    @classmethod
    def shaped_like(cls, learned: LearnedGroupConv) -> "CondensedConv":
        """The architecture condensation gives, with untrained weights: what counting parameters needs."""
        return cls(learned.norm, learned.conv.out_channels, learned.groups,
                   learned.conv.in_channels // learned.condensation)

    @classmethod
    def from_learned(cls, learned: LearnedGroupConv) -> "CondensedConv":
        condensed = cls.shaped_like(learned)
        kept = learned.kept_inputs()
        rows = learned.conv.out_channels // learned.groups
        with torch.no_grad():
            condensed.index.copy_(torch.cat(kept))
            for group, channels in enumerate(kept):
                block = slice(group * rows, (group + 1) * rows)
                condensed.conv.weight[block] = learned.conv.weight[block][:, channels]
        return condensed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.norm(x).index_select(1, self.index))


class CondensedLinear(nn.Module):
    """The classifier after condensation: only the inputs with the largest summed |weight| over the classes (half
    of them, as the authors' conversion keeps), then a smaller linear layer."""

    def __init__(self, kept: int, out_features: int):
        super().__init__()
        self.register_buffer("index", torch.zeros(kept, dtype=torch.long))
        self.linear = nn.Linear(kept, out_features)

    @classmethod
    def shaped_like(cls, linear: nn.Linear, keep: float = CLASSIFIER_KEEP) -> "CondensedLinear":
        return cls(int(linear.in_features * keep), linear.out_features)

    @classmethod
    def from_linear(cls, linear: nn.Linear, keep: float = CLASSIFIER_KEEP) -> "CondensedLinear":
        condensed = cls.shaped_like(linear, keep)
        strongest = linear.weight.detach().abs().sum(0).argsort(descending=True)[:len(condensed.index)]
        kept = strongest.sort().values
        with torch.no_grad():
            condensed.index.copy_(kept)
            condensed.linear.weight.copy_(linear.weight[:, kept])
            condensed.linear.bias.copy_(linear.bias)
        return condensed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.index_select(1, self.index))


class CondenseLayer(nn.Module):
    """A dense layer: learned group 1x1 conv to 4k channels, channel shuffle, BN-ReLU-3x3 group conv to k; the
    input concatenated before the output."""

    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.conv1 = LearnedGroupConv(c_in, 4 * growth)
        self.shuffle = ChannelShuffle(GROUPS)
        self.conv2 = nn.Sequential(*bn_relu(4 * growth),
                                   conv3x3(4 * growth, growth, groups=GROUPS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv2(self.shuffle(self.conv1(x)))], dim=1)


class CondenseNet(TrainableNetwork):
    """CondenseNet for CIFAR: a 3x3 stem of 2*k0 filters, three dense blocks of `layers` layers with growth rates
    doubling by block (exponentially increasing growth), joined by 2x2 average pooling only (full dense
    connectivity), BN-ReLU, global pooling and a linear classifier. In training, until the last condensation
    stage, `forward_train` adds `group_lasso` times the learned convolutions' group-lasso penalty to the loss."""

    def __init__(self, layers: tuple[int, ...], growths: tuple[int, ...], num_classes: int = 10,
                 in_channels: int = 3, group_lasso: float = GROUP_LASSO):
        super().__init__()
        channels = 2 * growths[0]
        features: list[nn.Module] = [conv3x3(in_channels, channels)]
        for block, (count, growth) in enumerate(zip(layers, growths)):
            if block:
                features.append(nn.AvgPool2d(2))
            for _ in range(count):
                features.append(CondenseLayer(channels, growth))
                channels += growth
        self.features = nn.Sequential(*features, *bn_relu(channels), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(channels, num_classes)
        # A tensor, not a Python float, so that a captured CUDA graph sees the penalty switched off; not saved:
        # set_progress recomputes it, and checkpoints from before it existed still load.
        self.register_buffer("lasso_weight", torch.tensor(float(group_lasso)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))

    def forward_train(self, x: torch.Tensor) -> TrainingOutput:
        return TrainingOutput(self(x), penalty=self.lasso_weight * self.group_lasso())

    def group_lasso(self) -> torch.Tensor:
        return sum(module.group_lasso() for module in self.learned_convs())

    def learned_convs(self) -> list[LearnedGroupConv]:
        return [module for module in self.modules() if isinstance(module, LearnedGroupConv)]

    def set_progress(self, progress: float) -> None:
        """Condensation stage k (of C-1) is reached at progress k / (2 (C-1)): all of it in the first half; the
        group lasso stops with the last stage, as the authors' does."""
        stage = min(int(progress * 2 * (CONDENSATION - 1) + 1e-9), CONDENSATION - 1)
        for module in self.learned_convs():
            module.condense_to(stage)
        if stage == CONDENSATION - 1:
            self.lasso_weight.zero_()

    def inference_model(self) -> nn.Module:
        """The architecture `condense` turns this network into, with untrained weights: what the paper counts."""
        with torch.device(self.classifier.weight.device):  # the meta device, when counting
            return _condensed(copy.deepcopy(self), CondensedConv.shaped_like, CondensedLinear.shaped_like)


def condense(model: CondenseNet) -> CondenseNet:
    """A fully condensed CondenseNet for inference, in place: every learned group convolution becomes a standard
    group convolution over the inputs its groups kept, and the classifier keeps the inputs it weighs most."""
    if not model.learned_convs():
        raise ValueError("condense(): this model is condensed already")
    if any(int(module.stage) < module.condensation - 1 for module in model.learned_convs()):
        raise ValueError("condense() needs a fully condensed model: train it through half its epochs")
    return _condensed(model, CondensedConv.from_learned, CondensedLinear.from_linear)


def _condensed(model: CondenseNet, convert_conv, convert_classifier) -> CondenseNet:
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, LearnedGroupConv):
                setattr(parent, name, convert_conv(child))
    model.classifier = convert_classifier(model.classifier)
    return model


# name: (layers per block, growth rates, parameters as printed in Table 2 of the paper, CIFAR-10)
CONDENSENETS = {"condensenet86": ((14, 14, 14), (8, 16, 32), "0.52M"),
                "condensenet182": ((30, 30, 30), (12, 24, 48), "4.2M")}


for _name, (_layers, _growths, _published) in CONDENSENETS.items():
    register_baseline(_name, partial(CondenseNet, _layers, _growths), image_size=32, paper=HUANG_2018,
                      published_params=_published,
                      description=f"CIFAR CondenseNet-{_name.removeprefix('condensenet')} (G=C=4), condensed in "
                                  f"training")
