"""Seeded train/validation/test splits. A search sees only the training set; the test split is for final runs."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nas.data.image_set import Dataset, ImageSet
from nas.data.pixel_stats import channel_mean_std
from nas.errors import ConfigError, DataError

PURPOSES = ("search", "final")
DEFAULT_VAL_FRACTION = 0.1  # 5,000 of CIFAR-10's 50,000 training images


@dataclass
class Splits:
    """What a training run reads. `test` is None for a search: the test images never reach it."""

    purpose: str
    train: ImageSet
    val: ImageSet | None
    test: ImageSet | None
    classes: list[str]
    channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    seed: int
    dataset: str = ""  # the dataset source's name, which reports record (nas.data.data_facts)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        parts = [f"{len(self.train)} train", f"{len(self.val) if self.val is not None else 0} val"]
        if self.test is not None:
            parts.append(f"{len(self.test)} test")
        return f"{self.purpose} split (seed {self.seed}): " + ", ".join(parts)


def make_splits(dataset: Dataset, *, purpose: str = "search", val_size: int | None = None,
                subset: int | None = None, test_subset: int | None = None, seed: int = 0) -> Splits:
    """Split `dataset.train` into train/val (seeded, stratified by class) and, for purpose='final', add the test set.

    subset: a class-balanced subset of this many training images is taken first (then split).
    test_subset: test on a class-balanced subset of this many test images (purpose='final'), e.g. for a short run
    whose accuracy needs no 10,000 images; drawn with its own generator, so the training split stays the same.
    val_size: held-out images; default 10% of the (subset) training pool, i.e. 45,000/5,000 for CIFAR-10.
    0 trains on the whole pool with no validation (final runs only).
    """
    if purpose not in PURPOSES:
        raise ConfigError(f"unknown split purpose {purpose!r}; choose from {', '.join(PURPOSES)}")
    generator = torch.Generator().manual_seed(seed)
    pool = dataset.train
    if subset is not None:
        pool = balanced_subset(pool, subset, dataset.num_classes, generator, "subset", "training")
    if val_size is None:
        val_size = max(dataset.num_classes, round(len(pool) * DEFAULT_VAL_FRACTION))
    if val_size < 0 or val_size >= len(pool):
        raise DataError(f"validation size {val_size} must be from 0 up to one less than the {len(pool)} training "
                        f"images")
    if val_size == 0 and purpose == "search":
        raise DataError("a search needs a validation split (val_size > 0): it must not select on test images")

    val_positions = stratified_indices(pool.labels, val_size, dataset.num_classes, generator)
    keep = torch.ones(len(pool), dtype=torch.bool)
    keep[val_positions] = False
    train_positions = keep.nonzero().flatten()
    train_positions = train_positions[torch.randperm(len(train_positions), generator=generator)]

    test = None
    if purpose == "final":
        test = dataset.test  # may be None: then eval_test reports the missing folder
        if test is not None and test_subset is not None:
            test = balanced_subset(test, test_subset, dataset.num_classes, torch.Generator().manual_seed(seed),
                                   "test subset", "test")
    # Checked first, decoded last: an image folder decodes the images the split keeps, and only those.
    pool = pool.decoded()
    test = test.decoded() if test is not None else None
    train = pool.select(train_positions)
    mean, std = normalisation(dataset, train)
    return Splits(
        purpose=purpose,
        train=train,
        val=pool.select(val_positions) if val_size else None,
        test=test,
        classes=list(dataset.classes), channels=dataset.channels, image_size=dataset.image_size,
        mean=mean, std=std, seed=seed, dataset=recognised_dataset(dataset),
    )


def normalisation(dataset: Dataset, train: ImageSet) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The source's statistics when it gives them (streamed folders: ImageNet's), else the mean and standard
    deviation of the training images this split keeps: what its network trains on, the validation and test
    images left out, and the same whichever images of the folder earlier runs happened to decode."""
    if dataset.mean is not None:
        return dataset.mean, dataset.std
    return channel_mean_std(train.pixels)


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def recognised_dataset(dataset: Dataset) -> str:
    """The dataset's name as reports compare it with published numbers: `cifar10` also for an image folder that
    holds exactly CIFAR-10 (its ten classes by name, 50,000 training and 10,000 test images of 32x32, as the JPEG
    copies of it are), since the numbers papers publish are about those images, whoever decoded them."""
    test = len(dataset.test) if dataset.test is not None else 0
    if (list(dataset.classes) == CIFAR10_CLASSES and len(dataset.train) == 50_000 and test == 10_000
            and dataset.image_size == 32):
        return "cifar10"
    return dataset.name


def balanced_subset(images: ImageSet, count: int, num_classes: int, generator: torch.Generator, what: str,
                    pool_name: str) -> ImageSet:
    """A class-balanced subset of `count` of `images`; DataError naming `what` when the count cannot be met."""
    if count < 2 * num_classes or count > len(images):
        raise DataError(f"{what} {count} must be between {2 * num_classes} (two per class) and the {len(images)} "
                        f"{pool_name} images")
    return images.select(balanced_indices(images.labels, count, num_classes, generator))


def balanced_indices(labels: torch.Tensor, count: int, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """`count` positions with classes as equal as the data allows (a short class gives all it has)."""
    by_class = [_shuffled_positions(labels, c, generator) for c in range(num_classes)]
    available = [len(p) for p in by_class]
    quota = [0] * num_classes
    remaining = count
    # Water-filling: hand out one per class per round until the count is met.
    while remaining > 0:
        open_classes = [c for c in range(num_classes) if quota[c] < available[c]]
        share, extra = divmod(remaining, len(open_classes))
        for rank, c in enumerate(open_classes):
            take = min(share + (1 if rank < extra else 0), available[c] - quota[c])
            quota[c] += take
            remaining -= take
    return torch.cat([by_class[c][: quota[c]] for c in range(num_classes)])


def stratified_indices(labels: torch.Tensor, count: int, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """`count` positions with each class in proportion to its share of `labels` (largest remainders)."""
    if count == 0:
        return torch.empty(0, dtype=torch.long)
    by_class = [_shuffled_positions(labels, c, generator) for c in range(num_classes)]
    sizes = torch.tensor([len(p) for p in by_class], dtype=torch.float64)
    exact = sizes * count / sizes.sum()
    quota = exact.floor().long()
    leftover = count - int(quota.sum())
    if leftover:
        order = torch.argsort(exact - quota, descending=True, stable=True)
        quota[order[:leftover]] += 1
    return torch.cat([by_class[c][: int(quota[c])] for c in range(num_classes)])


def _shuffled_positions(labels: torch.Tensor, label: int, generator: torch.Generator) -> torch.Tensor:
    positions = (labels == label).nonzero().flatten()
    return positions[torch.randperm(len(positions), generator=generator)]
