"""The tensors bundle every dataset source produces: labels plus either decoded pixels or file paths."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


class ImageSet:
    """Images of one split. Small images are decoded (`pixels`, uint8 N x C x H x W); large ones stay files (`paths`).

    A set with a `decoder` holds files that are decoded on first use (an image folder of small images): selecting
    from it decodes nothing, so a split of 2,000 images out of 60,000 decodes 2,000 (`decoded()`, as make_splits
    does in the driver: a worker may not see the files).

    `origin` names the split of the source the images came from ('train' or 'test') and `source_indices` their
    positions there, so a split can be checked for leaks (and a decoder knows which files to read).
    """

    def __init__(self, labels: torch.Tensor, pixels: torch.Tensor | None = None, paths: list[str] | None = None,
                 origin: str = "train", source_indices: torch.Tensor | None = None, decoder=None):
        if (pixels is None) == (paths is None):
            raise ValueError("an ImageSet holds either pixels or paths")
        if decoder is not None and paths is None:
            raise ValueError("an ImageSet decoded on first use needs its files' paths")
        self.labels = labels  # int64 [N]
        self._pixels = pixels
        self.paths = paths
        self.origin = origin
        self.source_indices = torch.arange(len(labels)) if source_indices is None else source_indices
        self.decoder = decoder  # .pixels(source_indices) -> uint8 N x C x H x W (nas.data.folder_pixels)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        kind = "pixels" if self._pixels is not None else "files decoded on use" if self.decoder else "files"
        return f"ImageSet({len(self)} {self.origin} images, {kind})"

    @property
    def pixels(self) -> torch.Tensor | None:
        """The decoded images (decoding them now if this set is decoded on first use); None for streamed files."""
        if self._pixels is None and self.decoder is not None:
            self._pixels = self.decoder.pixels(self.source_indices)  # the decoder stays: it counts what it decoded
        return self._pixels

    @property
    def in_memory(self) -> bool:
        return self._pixels is not None or self.decoder is not None

    def decoded(self) -> "ImageSet":
        """This set with its pixels in memory (decoded now if they were not yet)."""
        self.pixels  # noqa: B018 - decodes as a side effect
        return self

    def select(self, indices: torch.Tensor) -> "ImageSet":
        """A new ImageSet of the given positions (pixels are copied, so the parent can be freed; files still to be
        decoded stay so)."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        decoded = self._pixels is not None
        return ImageSet(
            labels=self.labels[indices].clone(),
            pixels=self._pixels[indices].contiguous() if decoded else None,
            paths=None if decoded else [self.paths[i] for i in indices.tolist()],
            origin=self.origin,
            source_indices=self.source_indices[indices].clone(),
            decoder=None if decoded else self.decoder,
        )

    def __getstate__(self) -> dict:
        """Decoded images travel without their files and decoder (a Ray worker may not see the folder)."""
        state = dict(self.__dict__)
        if state["_pixels"] is not None:
            state.update(paths=None, decoder=None)
        return state


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
    # Normalisation statistics; None: those of the training images a split keeps (nas.data.splits), computed there
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    from_cache: bool = False
    cache_path: str | None = None
    notes: list[str] = field(default_factory=list)  # what loading changed, e.g. images converted to RGB

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_memory(self) -> bool:
        return self.train.in_memory

    def decoded_now(self) -> int:
        """Images this process decoded from files so far (decoded on first use; the rest came from the cache)."""
        sets = [self.train, *([self.test] if self.test is not None else [])]
        return sum(getattr(image_set.decoder, "decoded_now", 0) for image_set in sets)

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
