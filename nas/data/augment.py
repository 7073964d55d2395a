"""Batch augmentation on whatever device the batch is on: random crop with padding, horizontal flip, cutout,
normalisation. Every image gets its own random draw, but the work is whole-batch tensor indexing: no Python
loop over images (the airbench way of keeping a GPU fed)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentParams:
    """Per-image random draws for a batch (or a whole epoch, then sliced per batch)."""

    shift_y: torch.Tensor  # int64 [N] in [0, 2*padding]
    shift_x: torch.Tensor
    flip: torch.Tensor  # bool [N]
    cutout_y: torch.Tensor  # int64 [N] centre row
    cutout_x: torch.Tensor

    def slice(self, index: torch.Tensor) -> "AugmentParams":
        return AugmentParams(*(t[index] for t in (self.shift_y, self.shift_x, self.flip, self.cutout_y, self.cutout_x)))

    def to(self, device) -> "AugmentParams":
        return AugmentParams(*(t.to(device, non_blocking=True) for t in
                               (self.shift_y, self.shift_x, self.flip, self.cutout_y, self.cutout_x)))


def draw_params(count: int, height: int, width: int, padding: int, generator: torch.Generator) -> AugmentParams:
    """Draw on the CPU from a seeded generator, so the same seed gives the same augmentation on any device."""
    return AugmentParams(
        shift_y=torch.randint(0, 2 * padding + 1, (count,), generator=generator),
        shift_x=torch.randint(0, 2 * padding + 1, (count,), generator=generator),
        flip=torch.rand(count, generator=generator) < 0.5,
        cutout_y=torch.randint(0, height, (count,), generator=generator),
        cutout_x=torch.randint(0, width, (count,), generator=generator),
    )


def random_crop(images: torch.Tensor, padding: int, shift_y: torch.Tensor, shift_x: torch.Tensor) -> torch.Tensor:
    """Zero-pad by `padding` and cut each image's H x W window at its own offset (one gather for the batch)."""
    if padding <= 0:
        return images
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    rows = (shift_y[:, None] + torch.arange(h, device=images.device))[:, None, :, None]  # N,1,H,1
    cols = (shift_x[:, None] + torch.arange(w, device=images.device))[:, None, None, :]  # N,1,1,W
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_flip(images: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def cutout(images: torch.Tensor, size: int, centre_y: torch.Tensor, centre_x: torch.Tensor) -> torch.Tensor:
    """Zero a size x size square around each centre, clipped at the border (DeVries & Taylor, as DARTS uses it).

    Applied after normalisation, so the hole is the dataset mean, as in DARTS."""
    if size <= 0:
        return images
    _, _, h, w = images.shape
    half = size // 2
    ys = torch.arange(h, device=images.device)[None, :]
    xs = torch.arange(w, device=images.device)[None, :]
    in_rows = (ys >= (centre_y[:, None] - half)) & (ys < (centre_y[:, None] - half + size))  # N,H
    in_cols = (xs >= (centre_x[:, None] - half)) & (xs < (centre_x[:, None] - half + size))  # N,W
    hole = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    return images.masked_fill(hole, 0.0)


def normalise(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float, minus mean over std (mean/std in [0, 1] units, shaped C x 1 x 1)."""
    return (images.float() / 255.0 - mean) / std


def augment_batch(images: torch.Tensor, params: AugmentParams, *, padding: int, flip: bool, cutout_size: int,
                  mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 batch -> augmented, normalised float batch. Crop and flip run on uint8 (a quarter of the bytes)."""
    images = random_crop(images, padding, params.shift_y, params.shift_x)
    if flip:
        images = random_flip(images, params.flip)
    images = normalise(images, mean, std)
    return cutout(images, cutout_size, params.cutout_y, params.cutout_x)
