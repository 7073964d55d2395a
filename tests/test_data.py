"""Datasets, cache, splits and augmentation (issue #3)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch
from torchvision.io import encode_jpeg, write_png

from nas.data import ImageSet, load_dataset, make_splits
from nas.data.augment import cutout, draw_params, random_crop, random_flip
from nas.data.device_loader import DeviceLoader
from nas.data.image_set import Dataset
from nas.data.stream_loader import StreamLoader
from nas.errors import ConfigError, DataError

# The test writes its trees with torchvision's encoders, deprecated in 0.29 in favour of TorchCodec.
pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")

CLASSES = ("cat", "dog", "frog")


def write_image(path: Path, image: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        write_png(image, str(path))
    else:
        path.write_bytes(encode_jpeg(image, quality=95).numpy().tobytes())


def make_tree(root: Path, per_class: int = 4, test_per_class: int = 2, size: int = 8, channels: int = 3,
              test_folder: str = "test") -> Path:
    """A tiny image-folder tree; each class has its own flat colour (JPEG and PNG mixed)."""
    for split, count in (("train", per_class), (test_folder, test_per_class)):
        for label, name in enumerate(CLASSES):
            for i in range(count):
                image = torch.full((channels, size, size), 40 + 80 * label, dtype=torch.uint8)
                write_image(root / split / name / f"{i:03d}.{'png' if i % 2 else 'jpg'}", image)
    return root


def synthetic_dataset(count: int = 600, classes: int = 10, test: int = 100) -> Dataset:
    labels = torch.arange(count) % classes
    pixels = torch.randint(0, 256, (count, 3, 8, 8), dtype=torch.uint8)
    test_labels = torch.arange(test) % classes
    return Dataset(
        name="synthetic", root="-", classes=[str(i) for i in range(classes)],
        train=ImageSet(labels=labels, pixels=pixels, origin="train"),
        test=ImageSet(labels=test_labels, pixels=torch.zeros((test, 3, 8, 8), dtype=torch.uint8), origin="test"),
        channels=3, image_size=8, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
    )


# --- image-folder source ---------------------------------------------------------------------------------------

def test_image_folder_reads_jpeg_and_png_tree(tmp_path):
    root = make_tree(tmp_path / "data")
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert dataset.classes == list(CLASSES)
    assert (dataset.channels, dataset.image_size, dataset.num_classes) == (3, 8, 3)
    assert dataset.train.pixels.shape == (12, 3, 8, 8) and dataset.train.pixels.dtype == torch.uint8
    assert dataset.train.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert len(dataset.test) == 6 and dataset.test.origin == "test"
    # each class's flat colour survives decoding (JPEG within a few levels)
    centre = dataset.train.pixels[:, 0, 4, 4].float()
    assert torch.allclose(centre, 40 + 80 * dataset.train.labels.float(), atol=4)


def test_hidden_and_non_image_files_are_skipped(tmp_path):
    root = make_tree(tmp_path / "data")
    (root / "train" / "cat" / "._000.jpg").write_bytes(b"macOS resource fork")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert len(dataset.train) == 12


def test_val_folder_is_the_test_split_and_grey_images_have_one_channel(tmp_path):
    root = make_tree(tmp_path / "data", channels=1, test_folder="val")
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert dataset.channels == 1 and dataset.train.pixels.shape[1] == 1
    assert len(dataset.test) == 6


def test_cache_is_reused_on_second_load_and_remade_when_the_source_changes(tmp_path, caplog):
    root = make_tree(tmp_path / "data")
    cache = tmp_path / "cache"
    first = load_dataset("imagefolder", root, cache_dir=cache, progress=False)
    assert not first.from_cache and Path(first.cache_path).exists()
    with caplog.at_level(logging.INFO, logger="nas.data"):
        second = load_dataset("imagefolder", root, cache_dir=cache, progress=False)
    assert second.from_cache
    assert any("from cache" in record.getMessage() for record in caplog.records)
    assert torch.equal(first.train.pixels, second.train.pixels)
    write_image(root / "train" / "cat" / "new.png", torch.zeros((3, 8, 8), dtype=torch.uint8))
    third = load_dataset("imagefolder", root, cache_dir=cache, progress=False)
    assert not third.from_cache and len(third.train) == 13


def test_images_of_another_size_are_resized_to_the_first(tmp_path):
    root = make_tree(tmp_path / "data")
    write_image(root / "train" / "dog" / "big.png", torch.zeros((3, 12, 12), dtype=torch.uint8))
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert dataset.train.pixels.shape == (13, 3, 8, 8)


def test_large_images_are_streamed_from_files(tmp_path):
    root = make_tree(tmp_path / "data", per_class=2, test_per_class=1, size=128)
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert not dataset.in_memory and len(dataset.train.paths) == 6
    assert dataset.image_size == 128
    splits = make_splits(dataset, val_size=3)
    loader = StreamLoader(splits.train, batch_size=2, train=True, image_size=64, channels=3, mean=dataset.mean,
                          std=dataset.std, workers=0)
    images, labels = next(iter(loader))
    assert images.shape == (2, 3, 64, 64) and labels.shape == (2,)


# --- folders of mixed image modes: the majority decides the channels -------------------------------------------

def write_grey_first(root: Path, size: int = 8) -> Path:
    """A colour tree plus one greyscale PNG that sorts before every other file."""
    write_image(root / "train" / "cat" / "000-grey.png", torch.full((1, size, size), 200, dtype=torch.uint8))
    return root


def test_one_grey_image_does_not_turn_a_colour_folder_grey(tmp_path):
    root = write_grey_first(make_tree(tmp_path / "data", per_class=20, test_per_class=0))
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert dataset.channels == 3 and dataset.train.pixels.shape == (61, 3, 8, 8)
    assert dataset.notes == ["1 of 61 images converted to RGB (the folder is mostly RGB)"]
    assert dataset.train.pixels[0].eq(200).all()  # the grey image replicated into all three channels
    again = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert again.from_cache and again.channels == 3 and again.notes == dataset.notes


def test_a_mostly_grey_folder_converts_its_colour_images_to_grey(tmp_path):
    root = make_tree(tmp_path / "data", channels=1)
    write_image(root / "train" / "cat" / "000-colour.png", torch.zeros((3, 8, 8), dtype=torch.uint8))
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert dataset.channels == 1 and dataset.train.pixels.shape == (13, 1, 8, 8)
    assert dataset.notes == ["1 of 19 images converted to greyscale (the folder is mostly greyscale)"]


def test_a_streamed_folder_counts_every_file_too(tmp_path):
    root = write_grey_first(make_tree(tmp_path / "data", per_class=2, test_per_class=1, size=128), size=128)
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert not dataset.in_memory and dataset.channels == 3 and len(dataset.mean) == 3
    assert dataset.notes == ["1 of 10 images converted to RGB (the folder is mostly RGB)"]
    loader = StreamLoader(dataset.train, batch_size=7, train=False, image_size=64, channels=dataset.channels,
                          mean=dataset.mean, std=dataset.std, workers=0)
    images, _ = next(iter(loader))
    assert images.shape == (7, 3, 64, 64)


def test_a_cache_decoded_by_the_first_file_rule_is_not_reused(tmp_path):
    from nas.data.folder_scan import fingerprint, list_split
    from nas.data.tensor_cache import cache_file, save_cached

    root = write_grey_first(make_tree(tmp_path / "data", per_class=2, test_per_class=0))
    listing = list_split(root / "train")
    old_key = fingerprint(["channels=1 size=8x8"], listing.fingerprint_lines(), [])  # the key the old rule wrote
    save_cached(cache_file(tmp_path / "cache", "imagefolder", old_key), {
        "classes": listing.classes, "train_pixels": torch.zeros((7, 1, 8, 8), dtype=torch.uint8),
        "train_labels": torch.tensor(listing.labels), "test_pixels": None, "test_labels": None,
        "mean": [0.5], "std": [0.25]})
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert not dataset.from_cache and dataset.channels == 3


@pytest.mark.parametrize("kind, message", [
    ("tie", "as many greyscale as colour images (6 each"),
    ("16-bit", "holds 1 image of PIL mode I;16"),
])
def test_a_folder_no_rule_makes_consistent_is_refused(tmp_path, kind, message):
    root = make_tree(tmp_path / "data", per_class=2, test_per_class=0)
    if kind == "tie":
        for i in range(6):
            write_image(root / "train" / "dog" / f"grey{i}.png", torch.zeros((1, 8, 8), dtype=torch.uint8))
    else:
        import numpy as np
        from PIL import Image

        Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16)).save(root / "train" / "dog" / "deep.png")
    with pytest.raises(DataError, match=re.escape(message)):
        load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_nas_train_on_a_mostly_colour_folder_trains_on_rgb_and_says_so(tmp_path, capsys):
    import json

    from nas.cli import main as cli_main

    root = write_grey_first(make_tree(tmp_path / "data", per_class=20, test_per_class=0))
    out = tmp_path / "out"
    assert cli_main(["train", "--genotype", "darts-v2", "--channels", "4", "--depth", "3", "--data", str(root),
                     "--epochs", "1", "--batch-size", "16", "--subset", "30", "--val-size", "6",
                     "--cache-dir", str(tmp_path / "cache"), "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert any("3 classes, 3x8x8, decoded in memory" in line for line in printed)
    assert "data: 1 of 61 images converted to RGB (the folder is mostly RGB)" in printed
    assert json.loads((out / "metrics.json").read_text())["dataset"]["channels"] == 3


@pytest.mark.parametrize("layout, message", [
    ("missing", "does not exist"),
    ("no_train", "expected"),
    ("loose_images", "no class folders"),
    ("empty_class", "has no images"),
    ("unreadable", "cannot read image"),
    ("unknown_test_class", "not in train"),
])
def test_bad_folders_raise_data_error_naming_the_problem(tmp_path, layout, message):
    root = tmp_path / "data"
    if layout == "no_train":
        make_tree(root)
        (root / "train").rename(root / "training")
    elif layout == "loose_images":
        write_image(root / "train" / "a.png", torch.zeros((3, 8, 8), dtype=torch.uint8))
    elif layout == "empty_class":
        make_tree(root)
        (root / "train" / "zebra").mkdir()
    elif layout == "unreadable":
        make_tree(root)
        (root / "train" / "cat" / "000.jpg").write_bytes(b"not a jpeg at all")
    elif layout == "unknown_test_class":
        make_tree(root)
        write_image(root / "test" / "zebra" / "0.png", torch.zeros((3, 8, 8), dtype=torch.uint8))
    with pytest.raises(DataError, match=message):
        load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)


def test_unknown_dataset_name_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("mnist", tmp_path)


def test_cifar10_folder_without_batches_and_offline_is_a_data_error(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataError, match="downloading CIFAR-10 failed"):
        load_dataset("cifar10", tmp_path / "nothing-here")
    assert not (tmp_path / "nothing-here").exists()


# --- splits ----------------------------------------------------------------------------------------------------

def test_search_split_is_disjoint_stratified_and_never_holds_test_images():
    dataset = synthetic_dataset()
    splits = make_splits(dataset, purpose="search", seed=3)
    assert splits.test is None
    assert (len(splits.train), len(splits.val)) == (540, 60)  # 10% held out, as 45,000/5,000 on CIFAR-10
    assert splits.train.origin == splits.val.origin == "train"
    train_ids, val_ids = set(splits.train.source_indices.tolist()), set(splits.val.source_indices.tolist())
    assert not train_ids & val_ids and len(train_ids | val_ids) == 600
    assert torch.bincount(splits.val.labels).tolist() == [6] * 10


def test_splits_are_seeded():
    dataset = synthetic_dataset()
    a, b = make_splits(dataset, seed=1), make_splits(dataset, seed=1)
    c = make_splits(dataset, seed=2)
    assert torch.equal(a.val.source_indices, b.val.source_indices)
    assert not torch.equal(a.val.source_indices, c.val.source_indices)


def test_subset_is_class_balanced_and_final_split_adds_test():
    dataset = synthetic_dataset()
    splits = make_splits(dataset, purpose="final", subset=200, val_size=50)
    assert len(splits.train) + len(splits.val) == 200
    labels = torch.cat([splits.train.labels, splits.val.labels])
    assert torch.bincount(labels).tolist() == [20] * 10
    assert splits.test is not None and splits.test.origin == "test"


@pytest.mark.parametrize("kwargs, error", [
    ({"subset": 5}, DataError), ({"subset": 10_000}, DataError), ({"val_size": 600}, DataError),
    ({"val_size": 0}, DataError), ({"purpose": "tune"}, ConfigError),
])
def test_bad_split_arguments(kwargs, error):
    with pytest.raises(error):
        make_splits(synthetic_dataset(), **kwargs)


# --- augmentation and the on-device loader ---------------------------------------------------------------------

def test_vectorised_crop_matches_a_per_image_crop():
    images = torch.randint(0, 256, (16, 3, 10, 12), dtype=torch.uint8)
    params = draw_params(16, 10, 12, 3, torch.Generator().manual_seed(0))
    cropped = random_crop(images, 3, params.shift_y, params.shift_x)
    padded = torch.nn.functional.pad(images, (3, 3, 3, 3))
    for i in range(16):
        y, x = int(params.shift_y[i]), int(params.shift_x[i])
        assert torch.equal(cropped[i], padded[i, :, y : y + 10, x : x + 12])


def test_flip_and_cutout():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    flipped = random_flip(images, torch.tensor([True, False]))
    assert torch.equal(flipped[0], images[0].flip(2)) and torch.equal(flipped[1], images[1])
    holed = cutout(torch.ones(1, 2, 8, 8), 4, torch.tensor([0]), torch.tensor([7]))
    assert holed[0, :, :2, 5:].eq(0).all() and holed.eq(0).sum() == 2 * 2 * 3  # clipped at the corner


def test_augmentation_keeps_shapes_and_labels():
    # every pixel of an image encodes its label, so a crop/flip/mix-up would show
    labels = torch.arange(64) % 10
    pixels = (labels * 20).to(torch.uint8)[:, None, None, None].expand(64, 3, 16, 16).contiguous()
    images = ImageSet(labels=labels, pixels=pixels)
    loader = DeviceLoader(images, batch_size=16, device="cpu", train=True, mean=(0, 0, 0), std=(1, 1, 1),
                          crop_padding=4, flip=True, cutout=0, seed=0)
    seen = []
    for batch, batch_labels in loader:
        assert batch.shape == (16, 3, 16, 16) and batch.dtype == torch.float32
        expected = (batch_labels * 20).float() / 255
        assert torch.allclose(batch.amax(dim=(1, 2, 3)), expected)  # padding only adds zeros
        seen += batch_labels.tolist()
    assert sorted(seen) == sorted(labels.tolist())


def test_device_loader_is_seeded_per_epoch_and_eval_is_unaugmented():
    images = ImageSet(labels=torch.arange(40) % 4, pixels=torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8))
    make = lambda: DeviceLoader(images, batch_size=8, device="cpu", train=True, mean=(0.5,) * 3,  # noqa: E731
                                std=(0.2,) * 3, cutout=4, seed=5)
    a, b = make(), make()
    b.set_epoch(1)
    first, again, other = next(iter(a)), next(iter(make())), next(iter(b))
    assert torch.equal(first[0], again[0]) and not torch.equal(first[0], other[0])
    evaluation = DeviceLoader(images, batch_size=16, device="cpu", train=False, mean=(0,) * 3, std=(1,) * 3)
    batches = list(evaluation)
    assert len(evaluation) == 3 and torch.equal(torch.cat([x for x, _ in batches]) * 255, images.pixels.float())


# --- the shared CIFAR-10 copy ----------------------------------------------------------------------------------

def test_shared_cifar10_loads_with_the_standard_split(shared_cifar10):
    dataset = shared_cifar10
    assert dataset.classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                               "truck"]
    assert (len(dataset.train), len(dataset.test)) == (50_000, 10_000)
    assert dataset.train.pixels.shape[1:] == (3, 32, 32)
    assert torch.bincount(dataset.train.labels).tolist() == [5000] * 10
    splits = make_splits(dataset, purpose="search")
    assert (len(splits.train), len(splits.val), splits.test) == (45_000, 5_000, None)
    again = load_dataset("cifar10", dataset.root, cache_dir=Path(dataset.cache_path).parent, progress=False)
    assert again.from_cache
