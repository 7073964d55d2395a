"""The torch DataLoader path: worker processes decode and augment with torchvision transforms.

Used for large images (ImageNet-size files that do not fit in memory decoded), and as the plain-PyTorch baseline
the throughput benchmark compares the device loader with."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.transforms.v2 import functional as TF

from nas.data.channel_census import NATIVE_MODE
from nas.data.image_open import opened_image
from nas.data.image_set import ImageSet


class Cutout:
    """DARTS's cutout on a normalised C x H x W tensor: one size x size hole, clipped at the border."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        _, h, w = image.shape
        y, x = int(torch.randint(h, ())), int(torch.randint(w, ()))
        half = self.size // 2
        image = image.clone()
        image[:, max(0, y - half) : min(h, y - half + self.size), max(0, x - half) : min(w, x - half + self.size)] = 0
        return image


class FileImages(torch.utils.data.Dataset):
    def __init__(self, images: ImageSet, transform, channels: int):
        self.paths, self.labels, self.transform = images.paths, images.labels.tolist(), transform
        self.mode = NATIVE_MODE[channels]

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        path = self.paths[index]
        with opened_image(path) as image:
            image = image.convert(self.mode)
        return self.transform(image), self.labels[index]


class TensorImages(torch.utils.data.Dataset):
    """Decoded uint8 images handed to PIL transforms one by one, as torchvision.datasets.CIFAR10 does."""

    def __init__(self, images: ImageSet, transform):
        self.pixels, self.labels, self.transform = images.pixels, images.labels.tolist(), transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.transform(TF.to_pil_image(self.pixels[index])), self.labels[index]


def build_transform(*, train: bool, in_memory: bool, image_size: int, mean, std, crop_padding: int = 4,
                    flip: bool = True, cutout: int = 0):
    steps = []
    if in_memory:  # small images: the CIFAR recipe
        if train and crop_padding:
            steps.append(transforms.RandomCrop(image_size, padding=crop_padding))
    elif train:  # large images: the ImageNet recipe
        steps.append(transforms.RandomResizedCrop(image_size))
    else:
        steps += [transforms.Resize(round(image_size / 0.875)), transforms.CenterCrop(image_size)]
    if train and flip:
        steps.append(transforms.RandomHorizontalFlip())
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    if train and cutout:
        steps.append(Cutout(cutout))
    return transforms.Compose(steps)


class StreamLoader:
    """A DataLoader with the DeviceLoader's interface (set_epoch, num_images, len, iteration)."""

    def __init__(self, images: ImageSet, *, batch_size: int, train: bool, image_size: int, channels: int, mean, std,
                 crop_padding: int = 4, flip: bool = True, cutout: int = 0, seed: int = 0, workers: int | None = None,
                 pin_memory: bool = False):
        transform = build_transform(train=train, in_memory=images.in_memory, image_size=image_size, mean=mean,
                                    std=std, crop_padding=crop_padding, flip=flip, cutout=cutout)
        dataset = TensorImages(images, transform) if images.in_memory else FileImages(images, transform, channels)
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        # torch's thread count is this process's CPU share (a Ray trial sets it to cpus_per_trial).
        workers = min(8, torch.get_num_threads()) if workers is None else workers
        self.loader = DataLoader(
            dataset, batch_size=batch_size, shuffle=train, drop_last=train and len(images) > batch_size,
            num_workers=workers, pin_memory=pin_memory, generator=self.generator,
            persistent_workers=False, prefetch_factor=4 if workers else None,
        )

    @property
    def num_images(self) -> int:
        return len(self.loader.dataset)

    def set_epoch(self, epoch: int) -> None:
        # The sampler and the workers' seeds both come from this generator, read when iteration starts.
        self.generator.manual_seed(self.seed * 100_003 + epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        return iter(self.loader)
