"""ImageDataset behaviour: the uint8 fast path, to_float, indexing, DataLoader use, fingerprints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import pixelforge.data.options as options
from pixelforge.data import load_images, to_float


def test_fast_path_tensors_equal_getitem():
    ds = load_images("default", image_size=20, channels=3, limit=64)
    images, labels = ds.tensors()
    assert images.dtype == torch.uint8 and images.shape == (64, 3, 20, 20)
    assert labels.dtype == torch.int64 and labels.shape == (64,)
    for i in (0, 17, 63):
        image, label = ds[i]
        assert torch.equal(image, to_float(images[i])) and label == int(labels[i])


def test_to_float_maps_uint8_onto_minus_one_to_one():
    x = torch.tensor([0, 255, 127], dtype=torch.uint8)
    y = to_float(x)
    assert y.dtype == torch.float32 and y[0] == -1.0 and y[1] == 1.0
    assert abs(float(y[2]) + 1 / 255) < 1e-6
    assert x.tolist() == [0, 255, 127]  # the input is not modified


def test_indexing_accepts_negative_and_rejects_out_of_range():
    ds = load_images("default", image_size=8, channels=1, limit=5)
    assert torch.equal(ds[-1][0], ds[4][0])
    with pytest.raises(IndexError):
        ds[5]


def test_dataloader_batches_have_the_promised_shapes():
    ds = load_images("default", image_size=16, channels=1, limit=20)
    images, labels = next(iter(DataLoader(ds, batch_size=8, shuffle=True)))
    assert images.shape == (8, 1, 16, 16) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.shape == (8,)


def test_lazy_arrays_match_preloaded_arrays(write_npz, digits, monkeypatch):
    path = str(write_npz(x=digits[0], y=digits[1]))
    eager = load_images(path, image_size=20, channels=3, resize_filter="lanczos")
    monkeypatch.setattr(options, "PRELOAD_LIMIT_BYTES", 1000)
    lazy = load_images(path, image_size=20, channels=3, resize_filter="lanczos")
    assert lazy.tensors() is None and "decoded lazily" in lazy.description
    assert lazy.fingerprint == eager.fingerprint  # same pixels, so the same cache key
    for i in range(len(eager)):
        assert torch.equal(lazy[i][0], eager[i][0]) and lazy[i][1] == eager[i][1]


def test_fingerprint_is_stable_and_tracks_every_option():
    base = {"image_size": 16, "channels": 1, "limit": 100}
    first = load_images("default", **base).fingerprint
    assert first == load_images("default", **base).fingerprint
    assert isinstance(first, str) and len(first) == 16
    variants = [
        {"image_size": 17},
        {"channels": 3},
        {"limit": 99},
        {"limit": None},
        {"split": "test"},
        {"resize_filter": "bilinear"},
    ]
    prints = {load_images("default", **{**base, **change}).fingerprint for change in variants}
    assert len(prints) == len(variants) and first not in prints


def test_fingerprint_changes_when_an_npz_file_changes(write_npz, digits):
    path = write_npz(x=digits[0])
    before = load_images(str(path), image_size=8, channels=1).fingerprint
    keyed = load_images(f"{path}:x", image_size=8, channels=1).fingerprint
    assert keyed == before  # naming the array it would pick anyway is the same source
    write_npz(x=digits[0][:10])
    os.utime(path, ns=(1, 1))
    assert load_images(str(path), image_size=8, channels=1).fingerprint != before


def test_an_npz_copied_elsewhere_keeps_its_fingerprint(write_npz, digits, tmp_path):
    """The fingerprint is the arrays' (the zip's member CRCs), not the file's path or mtime: a
    data folder copied anew keeps its cached evaluators; a changed array does not."""
    import shutil

    path = write_npz(x=digits[0])
    before = load_images(str(path), image_size=8, channels=1).fingerprint
    copy = tmp_path / "elsewhere" / "copy.npz"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    os.utime(copy, ns=(10**18, 10**18))
    assert load_images(str(copy), image_size=8, channels=1).fingerprint == before
    changed = digits[0].copy()
    changed[0, 0, 0] ^= 1  # one pixel
    np.savez_compressed(copy, x=changed)
    assert load_images(str(copy), image_size=8, channels=1).fingerprint != before


def test_fingerprint_changes_when_a_folder_gains_a_file(class_folder: Path, make_image, save_image):
    before = load_images(str(class_folder), image_size=8, channels=1).fingerprint
    assert load_images(str(class_folder), image_size=8, channels=1).fingerprint == before
    save_image(make_image("L", 9, 9), class_folder / "cat" / "new.png")
    assert load_images(str(class_folder), image_size=8, channels=1).fingerprint != before


def test_npz_and_folder_of_the_same_pixels_agree(tmp_path: Path, write_npz, save_image):
    from PIL import Image

    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (3, 21, 21, 3), dtype=np.uint8)
    for i, image in enumerate(x):
        save_image(Image.fromarray(image), tmp_path / "pngs" / f"{i}.png")
    from_npz = load_images(str(write_npz(x=x)), image_size=15, channels=3).tensors()[0]
    from_pngs = load_images(str(tmp_path / "pngs"), image_size=15, channels=3).tensors()[0]
    assert (from_npz.int() - from_pngs.int()).abs().max() <= 1
