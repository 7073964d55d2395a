"""Decoding an image folder on demand (issue 22): a split decodes the images it keeps and only those, the cache
grows with what runs decode, and a candidate learns the same from data decoded this way as from the whole folder
decoded at once."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from nas.data import load_dataset, make_splits
from nas.data import image_decode
from nas.data.channel_census import jpeg_mode
from nas.data.fork_pool import forks_allowed, no_forks
from nas.data.folder_pixels import FolderPixelCache
from nas.data.image_set import Dataset, ImageSet
from nas.data.pixel_stats import channel_mean_std
from tests.test_data import make_tree, write_image

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")


def varied_tree(root, per_class: int = 30):
    """Three classes of JPEGs whose pixels differ from image to image (so a wrong image would show)."""
    generator = torch.Generator().manual_seed(0)
    for split, count in (("train", per_class), ("test", 5)):
        for label, name in enumerate(("cat", "dog", "frog")):
            for i in range(count):
                image = torch.randint(0, 256, (3, 8, 8), generator=generator, dtype=torch.uint8)
                image[label] = 200  # a class signal a network can learn
                write_image(root / split / name / f"{i:03d}.jpg", image)
    return root


def counting_decodes(monkeypatch) -> list[int]:
    """The number of files each decode_files call decoded."""
    calls: list[int] = []
    real = image_decode.decode_files

    def counted(paths, *args, **kwargs):
        calls.append(len(paths))
        return real(paths, *args, **kwargs)

    monkeypatch.setattr("nas.data.folder_pixels.decode_files", counted)
    return calls


def test_a_split_decodes_only_the_images_it_keeps_and_the_cache_keeps_them(tmp_path, monkeypatch):
    root = varied_tree(tmp_path / "data")
    calls = counting_decodes(monkeypatch)
    dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    assert calls == [] and dataset.in_memory  # loading decodes nothing
    splits = make_splits(dataset, subset=30, val_size=6, seed=0)
    assert calls == [30] and dataset.decoded_now() == 30
    cache = FolderPixelCache(dataset.cache_path)
    positions, pixels = cache.decoded("train")
    assert sorted(positions.tolist()) == sorted(torch.cat([splits.train.source_indices,
                                                           splits.val.source_indices]).tolist())
    # A second run of the same split decodes nothing; one that needs more decodes only what is missing.
    again = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    same = make_splits(again, subset=30, val_size=6, seed=0)
    assert calls == [30] and again.from_cache and again.decoded_now() == 0
    assert torch.equal(same.train.pixels, splits.train.pixels)
    make_splits(again, subset=60, val_size=6, seed=1)
    assert calls[1] < 60 and len(FolderPixelCache(dataset.cache_path).decoded("train")[0]) == 30 + calls[1]


def test_images_decoded_on_demand_are_those_decoded_at_once(tmp_path):
    root = varied_tree(tmp_path / "data")
    lazy = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    part = make_splits(lazy, subset=45, val_size=9, seed=3)
    whole = load_dataset("imagefolder", root, cache_dir=tmp_path / "other-cache", progress=False)
    everything = whole.train.pixels  # the whole training folder decoded in one go
    assert everything.shape == (90, 3, 8, 8)
    assert torch.equal(part.train.pixels, everything[part.train.source_indices])
    assert torch.equal(part.val.pixels, everything[part.val.source_indices])


def test_normalisation_comes_from_the_training_split_whichever_images_were_decoded_before(tmp_path):
    root = varied_tree(tmp_path / "data")
    cold = make_splits(load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False),
                       subset=30, val_size=6, seed=0)
    assert (cold.mean, cold.std) == channel_mean_std(cold.train.pixels)  # validation images left out
    warm_dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / "cache", progress=False)
    warm_dataset.train.pixels  # noqa: B018 - every image decoded and cached before the split is made
    warm = make_splits(warm_dataset, subset=30, val_size=6, seed=0)
    assert (warm.mean, warm.std) == (cold.mean, cold.std)
    # A source that gives its own statistics keeps them (streamed folders: ImageNet's).
    given = Dataset(name="given", root="-", classes=["a", "b"],
                    train=ImageSet(labels=torch.arange(20) % 2, pixels=torch.zeros((20, 3, 4, 4), dtype=torch.uint8)),
                    test=None, channels=3, image_size=4, mean=(0.1, 0.2, 0.3), std=(0.5, 0.5, 0.5))
    assert make_splits(given, val_size=4).mean == (0.1, 0.2, 0.3)


def test_a_candidate_learns_the_same_from_data_decoded_on_demand(tmp_path):
    """Same seed and recipe: the same weights and accuracy whether the split's images were decoded for it alone
    or with the whole folder (what a search loaded before decoding on demand, with the same statistics)."""
    from nas.train.recipe import load_recipe
    from nas.train.network_for_data import network_for_data
    from nas.train.trainer import train

    root = varied_tree(tmp_path / "data")
    recipe = load_recipe("proxy", {"epochs": 1, "batch_size": 16, "channels": 4, "cells": 2,
                                   "bn_recalibration_batches": 1})
    genotype = "normal: add(sep_conv_3x3@0, skip_connect@1) | reduce: add(max_pool_3x3@0, conv_1x1@1)"

    def train_on(cache: str, decode_everything_first: bool):
        dataset = load_dataset("imagefolder", root, cache_dir=tmp_path / cache, progress=False)
        if decode_everything_first:
            dataset.train.pixels  # noqa: B018
        splits = make_splits(dataset, subset=60, val_size=12, seed=0)
        model = network_for_data(recipe=recipe, genotype=genotype, baseline=None, stack="cifar", num_classes=3,
                                 in_channels=3, image_size=8, seed=0)
        result = train(model, splits, recipe, seed=0, progress=False)
        return result, model

    on_demand, model_a = train_on("a", False)
    at_once, model_b = train_on("b", True)
    assert on_demand.val_acc == at_once.val_acc and on_demand.history[0].val_loss == at_once.history[0].val_loss
    for (name, a), (_, b) in zip(model_a.state_dict().items(), model_b.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_decoder_does_not_travel_to_workers(tmp_path):
    import pickle

    dataset = load_dataset("imagefolder", make_tree(tmp_path / "data"), cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(TypeError, match="decode a split before sending it"):
        pickle.dumps(dataset.train)
    splits = make_splits(dataset, val_size=3)
    back = pickle.loads(pickle.dumps(splits.train))  # decoded: pixels travel, files and decoder stay
    assert back.decoder is None and back.paths is None and torch.equal(back.pixels, splits.train.pixels)


def test_the_jpeg_header_gives_the_mode_pil_gives(tmp_path):
    for channels, expected in ((3, "RGB"), (1, "L")):
        path = tmp_path / f"{channels}.jpg"
        write_image(path, torch.full((channels, 8, 8), 90, dtype=torch.uint8))
        with Image.open(path) as image:
            assert jpeg_mode(str(path)) == image.mode == expected
    png = tmp_path / "x.png"
    write_image(png, torch.zeros((3, 8, 8), dtype=torch.uint8))
    assert jpeg_mode(str(png)) is None  # not a JPEG: PIL decides
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff")
    assert jpeg_mode(str(broken)) is None


def test_no_forks_while_ray_may_be_starting(monkeypatch):
    monkeypatch.delitem(__import__("sys").modules, "ray", raising=False)  # as in a process that never imported Ray
    assert forks_allowed()
    with no_forks():
        assert not forks_allowed()
        with no_forks():
            assert not forks_allowed()
        assert not forks_allowed()
    assert forks_allowed()


def test_the_pil_decoder_gives_the_pixels_torchvision_gave(tmp_path):
    """The decoder moved from torchvision.io to PIL (a driver no longer imports torchvision): the same files give
    the same pixels, so a candidate sees what it saw before. Only colour PNGs converted to grey may move by one
    level (PIL's ITU-R 601 luma, libpng's own coefficients before)."""
    from torchvision.io import ImageReadMode, decode_image, read_file

    generator = torch.Generator().manual_seed(0)
    colour = torch.randint(0, 256, (3, 16, 16), generator=generator, dtype=torch.uint8)
    grey = torch.randint(0, 256, (1, 16, 16), generator=generator, dtype=torch.uint8)
    for name, image in (("colour.jpg", colour), ("colour.png", colour), ("grey.jpg", grey), ("grey.png", grey)):
        write_image(tmp_path / name, image)
    for name in ("colour.jpg", "colour.png", "grey.jpg", "grey.png"):
        for channels, mode in ((3, ImageReadMode.RGB), (1, ImageReadMode.GRAY)):
            before = decode_image(read_file(str(tmp_path / name)), mode=mode)
            after = image_decode.decode_one(str(tmp_path / name), channels)
            assert after.dtype == torch.uint8 and after.shape == before.shape, (name, channels)
            if (name, channels) == ("colour.png", 1):
                assert (after.int() - before.int()).abs().max() <= 1
            else:
                assert torch.equal(after, before), (name, channels)
