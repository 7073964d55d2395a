"""Picking the loader for a split: on-device tensors for decoded images, a DataLoader for files."""

from __future__ import annotations

import torch

from nas.data.device_loader import DeviceLoader
from nas.data.image_set import ImageSet
from nas.data.splits import Splits


def make_loader(images: ImageSet, splits: Splits, *, train: bool, batch_size: int, device, crop_padding: int = 4,
                flip: bool = True, cutout: int = 0, seed: int = 0, workers: int | None = None):
    if images.in_memory:
        return DeviceLoader(images, batch_size=batch_size, device=device, train=train, mean=splits.mean,
                            std=splits.std, crop_padding=crop_padding, flip=flip, cutout=cutout, seed=seed)
    # Imported here: it brings torchvision (1.3 s), which a search's workers, training decoded images, never need.
    from nas.data.stream_loader import StreamLoader

    return StreamLoader(images, batch_size=batch_size, train=train, image_size=splits.image_size,
                        channels=splits.channels, mean=splits.mean, std=splits.std, crop_padding=crop_padding,
                        flip=flip, cutout=cutout, seed=seed, workers=workers,
                        pin_memory=torch.device(device).type == "cuda")
