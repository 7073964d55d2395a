"""Datasets (CIFAR-10, image-folder trees), seeded splits, and the loaders that feed the trainer."""

from nas.data.image_set import Dataset, ImageSet
from nas.data.loaders import make_loader
from nas.data.sources import load_dataset
from nas.data.splits import Splits, make_splits

__all__ = ["Dataset", "ImageSet", "Splits", "load_dataset", "make_splits", "make_loader"]
