"""Batches cut from one uint8 tensor that lives on the training device, augmented there."""

from __future__ import annotations

import torch

from nas.data.augment import augment_batch, draw_params, normalise
from nas.data.image_set import ImageSet


class DeviceLoader:
    """Iterates (images float N x C x H x W, labels int64) on `device`.

    The whole split is copied to the device once as uint8 (CIFAR-10: 150 MB). Each epoch's order and augmentation
    draws come from a CPU generator seeded with (seed, epoch), so a resumed run sees the same batches.
    """

    def __init__(self, images: ImageSet, *, batch_size: int, device: str | torch.device, train: bool,
                 mean, std, crop_padding: int = 4, flip: bool = True, cutout: int = 0, seed: int = 0,
                 drop_last: bool | None = None):
        if not images.in_memory:
            raise ValueError("DeviceLoader needs decoded pixels; use the stream loader for file datasets")
        self.device = torch.device(device)
        self.pixels = images.pixels.to(self.device)
        self.labels = images.labels.to(self.device)
        self.batch_size = batch_size
        self.train = train
        self.crop_padding = crop_padding if train else 0
        self.flip = flip and train
        self.cutout = cutout if train else 0
        self.seed = seed
        self.epoch = 0
        # A ragged last batch of a few images makes BatchNorm statistics noisy; drop it when training.
        self.drop_last = (train and len(images) > batch_size) if drop_last is None else drop_last
        shape = (-1, 1, 1)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(shape)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(shape)

    @property
    def num_images(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        full, rest = divmod(self.num_images, self.batch_size)
        return full if (self.drop_last or rest == 0) else full + 1

    def __iter__(self):
        count = self.num_images
        if not self.train:
            for start in range(0, count, self.batch_size):
                stop = min(start + self.batch_size, count)
                yield normalise(self.pixels[start:stop], self.mean, self.std), self.labels[start:stop]
            return
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(count, generator=generator)
        _, _, height, width = self.pixels.shape
        params = draw_params(count, height, width, self.crop_padding, generator).to(self.device)
        order = order.to(self.device)
        for batch in range(len(self)):
            index = order[batch * self.batch_size : (batch + 1) * self.batch_size]
            images = augment_batch(
                self.pixels[index], params.slice(index), padding=self.crop_padding, flip=self.flip,
                cutout_size=self.cutout, mean=self.mean, std=self.std,
            )
            yield images, self.labels[index]
