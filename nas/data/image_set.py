"""The tensors bundle every dataset source produces: labels plus either decoded pixels or file paths."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ImageSet:
    """Images of one split. Small images are decoded (`pixels`, uint8 N x C x H x W); large ones stay files (`paths`).

    `origin` names the split of the source the images came from ('train' or 'test') and `source_indices` their
    positions there, so a split can be checked for leaks.
    """

    labels: torch.Tensor  # int64 [N]
    pixels: torch.Tensor | None = None
    paths: list[str] | None = None
    origin: str = "train"
    source_indices: torch.Tensor | None = None

    def __post_init__(self):
        if (self.pixels is None) == (self.paths is None):
            raise ValueError("an ImageSet holds either pixels or paths")
        if self.source_indices is None:
            self.source_indices = torch.arange(len(self.labels))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def in_memory(self) -> bool:
        return self.pixels is not None

    def select(self, indices: torch.Tensor) -> "ImageSet":
        """A new ImageSet of the given positions (pixels are copied, so the parent can be freed)."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        return ImageSet(
            labels=self.labels[indices].clone(),
            pixels=None if self.pixels is None else self.pixels[indices].contiguous(),
            paths=None if self.paths is None else [self.paths[i] for i in indices.tolist()],
            origin=self.origin,
            source_indices=self.source_indices[indices].clone(),
        )


@dataclass
class Dataset:
    """A loaded dataset: its splits as read from the source and what the model needs to know about it."""

    name: str
    root: str
    classes: list[str]
    train: ImageSet
    test: ImageSet | None
    channels: int
    image_size: int  # height of the stored images (in-memory) or of the training crop (streamed)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    from_cache: bool = False
    cache_path: str | None = None
    notes: list[str] = field(default_factory=list)  # what loading changed, e.g. images converted to RGB

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_memory(self) -> bool:
        return self.train.in_memory

    def describe(self) -> str:
        test = f", {len(self.test)} test" if self.test is not None else ", no test split"
        kind = "decoded in memory" if self.in_memory else "streamed from files"
        return (
            f"{self.name} at {self.root}: {len(self.train)} train{test}, {self.num_classes} classes, "
            f"{self.channels}x{self.image_size}x{self.image_size}, {kind}"
        )

    def note_lines(self) -> list[str]:
        """The notes as the lines printed under the description."""
        return [f"data: {note}" for note in self.notes]
