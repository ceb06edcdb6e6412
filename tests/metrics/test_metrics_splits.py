"""Finding the real splits: by fingerprint, explicit, absent, or not distinct (one-array .npz)."""

import numpy as np

from pixelforge.data import load_images
from pixelforge.metrics.splits import guess_resize_filter, resolve_splits


def _load(path, split="train", **kw):
    return load_images(str(path), image_size=16, channels=1, split=split, **kw)


def test_split_is_found_by_fingerprint(tiny_npz):
    test = _load(tiny_npz, "test", resize_filter="lanczos")
    splits = resolve_splits(test, str(tiny_npz))
    assert splits.real_split == "test" and splits.resize_filter == "lanczos"
    assert splits.heldout is test and splits.other_split == "train"
    assert len(splits.train) == 512 and splits.other is splits.train
    assert splits.train.fingerprint == _load(tiny_npz, resize_filter="lanczos").fingerprint


def test_explicit_split_and_train_as_reference(tiny_npz):
    train = _load(tiny_npz, limit=100)  # a limited load: no fingerprint matches
    assert resolve_splits(train, str(tiny_npz)).real_split is None
    splits = resolve_splits(train, str(tiny_npz), split="train", resize_filter="bicubic")
    assert splits.train is train and splits.real_split == "train"
    assert splits.other_split == "test" and len(splits.other) == 128


def test_an_npz_without_a_test_split_has_no_floor(tmp_path, mnist):
    path = tmp_path / "only_x.npz"
    np.savez(path, x=mnist["x_train"][:60], y=mnist["y_train"][:60])
    real = _load(path)
    splits = resolve_splits(real, str(path))
    assert splits.heldout is None and splits.other is None  # "test" would be the same images
    assert splits.train is real and splits.real_split == "train"


def test_without_a_spec_only_the_real_data_is_known(tiny_npz):
    real = _load(tiny_npz, "test")
    splits = resolve_splits(real)
    assert splits.train is real and splits.heldout is None and splits.other is None
    assert guess_resize_filter(real) == "bicubic"
