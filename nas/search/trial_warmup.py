"""What a search's local Ray workers import as they start, before any trial reaches them (Ray's
preload_python_modules, nas.cluster.ray_session): the trial's own code, the ops and the network stacks, and what
counting a network's cost loads on first use (torch's flop counter brings torch._dynamo): about 3 s on 2 cores that
a candidate's set-up would otherwise pay while the driver waits. The model zoo (and torchvision with it) is left
to the trials that train a baseline."""

from torch import nn

import nas.search.candidate_trial  # noqa: F401
from nas.models.profile import count_params_and_macs
from nas.models.registry import MODELS
from nas.space.op_registry import OPS

MODELS.get("cifar")  # discovers nas.models (the stacks); the zoo is discovered when a name is not found there
OPS.names()
count_params_and_macs(nn.Conv2d(1, 1, 1), (1, 1, 2, 2))
