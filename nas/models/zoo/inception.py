"""GoogLeNet / Inception-v1 with its two auxiliary classifiers, and Inception-v3 with its one: torchvision's
definitions, given the trainer's view of auxiliary heads (nas.models.trainable). torchvision returns a named tuple
in training; here `forward` always returns the logits and `forward_train` adds the heads' logits, whose loss the
trainer weights by the recipe's `auxiliary_weight` (GoogLeNet used 0.3 per head, Inception-v3 0.4).

Parameter counts leave the auxiliary heads out, as the papers and nas.models.profile do."""

from __future__ import annotations

import torch
import torchvision.models as tv_models

from nas.models.registry import register_model
from nas.models.trainable import TrainableNetwork, TrainingOutput
from nas.models.zoo.papers import SZEGEDY_2015, SZEGEDY_2016
from nas.models.zoo.torchvision_nets import replace_first_conv


class AuxiliaryOutputs(TrainableNetwork):
    """Mixin before a torchvision network whose training forward returns (logits, *aux logits)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = super().forward(x)
        return output[0] if isinstance(output, tuple) else output

    def forward_train(self, x: torch.Tensor) -> TrainingOutput:
        output = super().forward(x)
        if not isinstance(output, tuple):
            return TrainingOutput(output)
        return TrainingOutput(output[0], tuple(head for head in output[1:] if head is not None))


class GoogLeNet(AuxiliaryOutputs, tv_models.GoogLeNet):
    """GoogLeNet (Szegedy et al. 2015) as torchvision defines it, auxiliary classifiers included."""


class Inception3(AuxiliaryOutputs, tv_models.Inception3):
    """Inception-v3 (Szegedy et al. 2016) as torchvision defines it, auxiliary classifier included."""


@register_model("googlenet", image_size=224, paper=SZEGEDY_2015, published_params=6_624_904, source="torchvision",
                published_macs="1.5G",  # "1.5 billion multiply-adds" (Section 5)
                description="torchvision GoogLeNet / Inception-v1 with its two auxiliary classifiers (ImageNet)")
def googlenet(*, num_classes: int, in_channels: int = 3) -> GoogLeNet:
    model = GoogLeNet(num_classes=num_classes, aux_logits=True, transform_input=False, init_weights=True)
    return replace_first_conv(model, in_channels)


# The auxiliary head pools 5x5/3 then convolves 5x5 a 17x17 map: inputs below the paper's 299 px cannot train it.
@register_model("inception_v3", image_size=299, paper=SZEGEDY_2016, published_params=23_834_568,
                source="torchvision", min_image_size=299,
                description="torchvision Inception-v3 with its auxiliary classifier (ImageNet, 299 px)")
def inception_v3(*, num_classes: int, in_channels: int = 3) -> Inception3:
    model = Inception3(num_classes=num_classes, aux_logits=True, transform_input=False, init_weights=True)
    return replace_first_conv(model, in_channels)
