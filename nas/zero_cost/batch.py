"""The mini-batch proxies see: the first images of the search's training split (shuffled by the split's seed),
normalised as training normalises them and not augmented, so a score is the same every time it is computed."""

from __future__ import annotations

import torch

from nas.data.loaders import make_loader
from nas.data.splits import Splits
from nas.errors import DataError


def proxy_batch(splits: Splits, batch_size: int, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    if batch_size < 1:
        raise DataError(f"the proxy batch needs at least 1 image, got --batch-size {batch_size}")
    if len(splits.train) < batch_size:
        raise DataError(f"the proxy batch of {batch_size} images (--batch-size, or zero_cost.batch_size in a "
                        f"search) is larger than the {len(splits.train)} training images")
    loader = make_loader(splits.train, splits, train=False, batch_size=batch_size, device=device, workers=0)
    inputs, targets = next(iter(loader))
    return inputs.to(device), targets.to(device)
