"""npz sources: array choice by split and key, labels, dtype/shape checks, pixel conversions."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.data import load_images
from pixelforge.errors import UserError


def test_x_and_y_give_labelled_images(write_npz, digits):
    x, y = digits
    ds = load_images(str(write_npz(x=x, y=y)), image_size=24, channels=1)
    assert len(ds) == 30 and ds.has_labels and ds.num_classes == 5
    assert ds.labels.tolist() == y.tolist()
    image, label = ds[7]
    assert image.shape == (1, 24, 24) and image.dtype == torch.float32 and label == 2
    assert re.fullmatch(
        r"npz .*data\.npz\[x\] 30 images 12x12x1 -> 24x24x1 \(bicubic\)", ds.description
    )


def test_x_only_npz_is_used_for_both_splits_unlabeled(write_npz, digits):
    path = write_npz(x=digits[0])
    for split in ("train", "test"):
        ds = load_images(str(path), image_size=12, channels=1, split=split)
        assert len(ds) == 30 and not ds.has_labels and ds.labels.tolist() == [-1] * 30


def test_split_picks_x_train_or_x_test_with_matching_labels(write_npz, digits):
    x, y = digits
    path = write_npz(x_train=x[:20], y_train=y[:20], x_test=x[20:], y_test=y[20:])
    train = load_images(str(path), image_size=12, channels=1)
    test = load_images(str(path), image_size=12, channels=1, split="test")
    assert (len(train), len(test)) == (20, 10)
    assert test.labels.tolist() == y[20:].tolist()
    assert torch.equal(test.tensors()[0][:, :, :, :], torch.from_numpy(x[20:]).permute(0, 3, 1, 2))
    assert "[x_test]" in test.description


def test_key_suffix_picks_an_array_and_its_test_twin(write_npz, digits):
    x, y = digits
    path = write_npz("faces.npz", x_faces=x, y_faces=y, x_faces_test=x[:4], x_other=x[:3])
    picked = load_images(f"{path}:x_faces", image_size=12, channels=3)
    assert len(picked) == 30 and picked.num_classes == 5 and picked.channels == 3
    assert len(load_images(f"{path}:x_faces", image_size=12, channels=3, split="test")) == 4
    other = load_images(f"{path}:x_other", image_size=12, channels=3, split="test")
    assert len(other) == 3 and not other.has_labels


def test_unknown_key_lists_the_keys(write_npz, digits):
    path = write_npz(x=digits[0])
    with pytest.raises(UserError, match=re.escape(f"{path} has no array 'nope'; it has: x")):
        load_images(f"{path}:nope", image_size=8, channels=1)


def test_single_four_d_uint8_array_is_found_by_shape(write_npz, digits):
    path = write_npz(pictures=digits[0], meta=np.arange(3))
    assert len(load_images(str(path), image_size=8, channels=1)) == 30


def test_several_candidate_arrays_ask_for_a_key(write_npz, digits):
    path = write_npz(a=digits[0], b=digits[0])
    with pytest.raises(UserError, match=r"several image arrays \(a, b\).*:KEY"):
        load_images(str(path), image_size=8, channels=1)


def test_npz_without_images_names_the_path_and_keys(write_npz):
    path = write_npz(labels=np.arange(10), names=np.array(["a", "b"]))
    with pytest.raises(UserError) as err:
        load_images(str(path), image_size=8, channels=1)
    assert str(path) in str(err.value) and "labels, names" in str(err.value)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint16])
def test_non_uint8_images_are_rejected_naming_key_and_dtype(write_npz, dtype):
    path = write_npz(x_train=np.zeros((2, 8, 8, 1), dtype=dtype))
    with pytest.raises(UserError, match=rf"\[x_train\] has dtype {np.dtype(dtype).name}"):
        load_images(str(path), image_size=8, channels=1)


def test_object_arrays_are_never_unpickled(write_npz):
    path = write_npz(x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(UserError, match="without pickle"):
        load_images(str(path), image_size=8, channels=1)


def test_channels_first_arrays_are_rejected(write_npz):
    path = write_npz(x=np.zeros((2, 3, 16, 16), dtype=np.uint8))
    with pytest.raises(UserError, match=r"shape \(2, 3, 16, 16\); expected"):
        load_images(str(path), image_size=8, channels=1)


def test_three_d_arrays_are_single_channel(write_npz, digits):
    ds = load_images(str(write_npz(x=digits[0][..., 0])), image_size=12, channels=1)
    assert torch.equal(ds.tensors()[0], torch.from_numpy(digits[0]).permute(0, 3, 1, 2))


def test_mismatched_or_float_labels_are_ignored(write_npz, digits):
    x, y = digits
    assert not load_images(str(write_npz(x=x, y=y[:5])), image_size=8, channels=1).has_labels
    path = write_npz("f.npz", x=x, y=y.astype(np.float32))
    assert not load_images(str(path), image_size=8, channels=1).has_labels


def test_low_value_arrays_warn_but_are_not_rescaled(write_npz, caplog):
    x = np.full((3, 8, 8, 1), 16, dtype=np.uint8)
    with caplog.at_level(logging.WARNING, logger="pixelforge.data"):
        ds = load_images(str(write_npz(x=x)), image_size=8, channels=1)
    assert ds.tensors()[0].unique().tolist() == [16]
    assert "only up to 16" in caplog.text


def test_unreadable_npz_is_a_user_error(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_text("not a zip")
    with pytest.raises(UserError, match=re.escape(f"cannot read {path} as .npz")):
        load_images(str(path), image_size=8, channels=1)


def test_rgba_is_composited_onto_white_and_gray_matches_pil(write_npz):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (4, 9, 9, 4), dtype=np.uint8)
    rgba[0, ..., 3] = 0
    rgb_ds = load_images(str(write_npz(x=rgba)), image_size=9, channels=3)
    assert rgb_ds.tensors()[0][0].unique().tolist() == [255]
    rgb = rgba[1:, ..., :3].copy()
    gray = load_images(str(write_npz("rgb.npz", x=rgb)), image_size=9, channels=1).tensors()[0]
    expected = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in rgb])
    assert np.array_equal(gray[:, 0].numpy(), expected)


def test_gray_to_rgb_repeats_the_channel(write_npz, digits):
    images = load_images(str(write_npz(x=digits[0])), image_size=12, channels=3).tensors()[0]
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])


def test_non_square_arrays_are_centre_cropped(write_npz):
    x = np.zeros((2, 6, 18, 1), dtype=np.uint8)
    x[:, :, 6:12] = 200
    images = load_images(str(write_npz(x=x)), image_size=6, channels=1).tensors()[0]
    assert images.unique().tolist() == [200]


@pytest.mark.parametrize("resize_filter", ["bicubic", "bilinear", "lanczos", "nearest"])
def test_every_filter_resizes_like_pil(write_npz, resize_filter):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (3, 20, 20, 3), dtype=np.uint8)
    ds = load_images(str(write_npz(x=x)), image_size=13, channels=3, resize_filter=resize_filter)
    images = ds.tensors()[0]
    assert images.shape == (3, 3, 13, 13) and f"({resize_filter})" in ds.description
    pil_filter = getattr(Image.Resampling, resize_filter.upper())
    for got, src in zip(images, x, strict=True):
        want = np.asarray(Image.fromarray(src).resize((13, 13), pil_filter)).astype(int)
        diff = np.abs(got.permute(1, 2, 0).numpy().astype(int) - want)
        # nearest may pick the neighbouring source pixel on ties; the others match to 1 level
        assert diff.max() <= 1 if resize_filter != "nearest" else (diff > 1).mean() < 0.2


def test_bare_npy_under_an_npz_name_is_a_user_error(tmp_path, digits):
    path = tmp_path / "plain.npz"
    with path.open("wb") as fh:
        np.save(fh, digits[0])
    with pytest.raises(UserError, match="single .npy array"):
        load_images(str(path), image_size=8, channels=1)
