"""Folder sources: mixed modes and sizes, corrupt files, labels from subfolders, splits, errors."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pixelforge.data.options as options
from pixelforge.data import load_images
from pixelforge.errors import UserError


@pytest.mark.parametrize("channels", [1, 3])
def test_mixed_folder_gives_exact_shapes_ranges_and_dtypes(mixed_folder: Path, channels: int):
    ds = load_images(str(mixed_folder), image_size=16, channels=channels)
    assert len(ds) == 6
    for i in range(len(ds)):
        image, label = ds[i]
        assert image.shape == (channels, 16, 16)
        assert image.dtype == torch.float32
        assert -1.0 <= image.min() <= image.max() <= 1.0
        assert label == -1 and isinstance(label, int)
    assert not ds.has_labels and ds.num_classes == 0
    images, labels = ds.tensors()
    assert images.shape == (6, channels, 16, 16) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64 and labels.tolist() == [-1] * 6


def test_corrupt_files_are_skipped_and_reported_once(mixed_folder: Path, caplog):
    with caplog.at_level(logging.WARNING, logger="pixelforge.data"):
        ds = load_images(str(mixed_folder), image_size=8, channels=3)
    assert sorted(Path(p).name for p, _ in ds.skipped) == ["g_truncated.png", "h_text.jpg"]
    assert all(reason for _, reason in ds.skipped)
    warnings = [r.getMessage() for r in caplog.records if r.name == "pixelforge.data"]
    assert len(warnings) == 1
    assert warnings[0].startswith("skipped 2 of 8 files: first: ")
    assert "g_truncated.png" in warnings[0]
    assert "2 unreadable skipped" in ds.description


def test_transparent_pixels_become_white(tmp_path: Path, save_image):
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)  # fully transparent black
    save_image(Image.fromarray(rgba), tmp_path / "clear.png")
    for channels in (1, 3):
        image, _ = load_images(str(tmp_path), image_size=10, channels=channels)[0]
        assert torch.equal(image, torch.ones(channels, 10, 10))


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path: Path, save_image):
    values = np.full((6, 6), 32896, dtype=np.uint16)  # 128 * 257
    save_image(Image.fromarray(values), tmp_path / "mid.png")
    images, _ = load_images(str(tmp_path), image_size=6, channels=1).tensors()
    assert images.unique().tolist() == [128]


def test_non_square_images_are_centre_cropped(tmp_path: Path, save_image):
    wide = np.zeros((4, 12), dtype=np.uint8)
    wide[:, 4:8] = 255  # only the centre square is white
    save_image(Image.fromarray(wide), tmp_path / "wide.png")
    images, _ = load_images(str(tmp_path), image_size=4, channels=1).tensors()
    assert images.unique().tolist() == [255]


def test_first_level_subfolders_are_sorted_classes(class_folder: Path):
    ds = load_images(str(class_folder), image_size=8, channels=3)
    assert ds.has_labels and ds.num_classes == 3
    assert ds.class_names == ["bird", "cat", "dog"]
    assert [ds[i][1] for i in range(len(ds))] == [0, 1, 1, 2, 2, 2]
    assert "3 classes" in ds.description


def test_one_subfolder_or_loose_files_mean_unlabeled(
    class_folder: Path, tmp_path: Path, make_image, save_image
):
    save_image(make_image("L", 8, 8), class_folder / "loose.png")
    assert not load_images(str(class_folder), image_size=8, channels=1).has_labels
    single = tmp_path / "single"
    save_image(make_image("L", 8, 8), single / "only" / "a.png")
    save_image(make_image("L", 8, 8, seed=1), single / "only" / "b.png")
    ds = load_images(str(single), image_size=8, channels=1)
    assert not ds.has_labels and ds.labels.tolist() == [-1, -1]


def test_limit_takes_the_first_readable_images_in_sorted_order(mixed_folder: Path):
    full = load_images(str(mixed_folder), image_size=8, channels=1)
    first4 = load_images(str(mixed_folder), image_size=8, channels=1, limit=4)
    assert len(first4) == 4  # the corrupt g_/h_ files come before sub/ and are skipped
    assert torch.equal(first4.tensors()[0], full.tensors()[0][:4])
    assert load_images(str(mixed_folder), image_size=8, channels=1, limit=1).skipped == []


def test_hidden_files_are_ignored_and_extensions_are_case_insensitive(
    tmp_path: Path, make_image, save_image
):
    save_image(make_image("RGB", 8, 8), tmp_path / "UPPER.PNG")
    save_image(make_image("RGB", 8, 8), tmp_path / "photo.Jpeg")
    (tmp_path / "._photo.jpg").write_bytes(b"\x00\x05 AppleDouble junk")
    save_image(make_image("RGB", 8, 8), tmp_path / ".thumbs" / "t.png")
    ds = load_images(str(tmp_path), image_size=8, channels=3)
    assert len(ds) == 2 and ds.skipped == []


def test_train_and_test_subfolders_select_the_split(tmp_path: Path, make_image, save_image):
    for split, count in (("train", 3), ("test", 2)):
        for i in range(count):
            save_image(make_image("L", 8, 8, seed=i), tmp_path / split / f"{i}.png")
    assert len(load_images(str(tmp_path), image_size=8, channels=1)) == 3
    assert len(load_images(str(tmp_path), image_size=8, channels=1, split="test")) == 2


def test_test_split_without_test_folder_is_an_error(class_folder: Path):
    with pytest.raises(UserError, match="no test/ subfolder"):
        load_images(str(class_folder), image_size=8, channels=1, split="test")


def test_test_folder_without_train_folder_is_an_error(tmp_path: Path, make_image, save_image):
    save_image(make_image("L", 8, 8), tmp_path / "test" / "a.png")
    save_image(make_image("L", 8, 8), tmp_path / "b.png")
    with pytest.raises(UserError, match="no train/ subfolder"):
        load_images(str(tmp_path), image_size=8, channels=1)


def test_empty_folder_is_an_error_naming_it(tmp_path: Path):
    with pytest.raises(
        UserError, match=re.escape(f"no images in folder {tmp_path}: it has no files")
    ):
        load_images(str(tmp_path), image_size=8, channels=1)


def test_folder_without_images_is_an_error_naming_it(tmp_path: Path):
    (tmp_path / "readme.md").write_text("hello")
    with pytest.raises(UserError, match=re.escape(f"{tmp_path}: it has 1 file but none")):
        load_images(str(tmp_path), image_size=8, channels=1)


def test_folder_of_only_corrupt_images_is_an_error(tmp_path: Path):
    (tmp_path / "a.png").write_text("nope")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(UserError, match=r"no readable images in folder .*all 2 files failed"):
        load_images(str(tmp_path), image_size=8, channels=1)


def test_missing_folder_is_an_error_naming_it(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(UserError, match=re.escape(f"not found: {missing}")):
        load_images(str(missing), image_size=8, channels=1)


def test_lazy_decoding_matches_preloading(mixed_folder: Path, monkeypatch):
    eager = load_images(str(mixed_folder), image_size=12, channels=3)
    monkeypatch.setattr(options, "PRELOAD_LIMIT_BYTES", 0)
    lazy = load_images(str(mixed_folder), image_size=12, channels=3)
    assert lazy.tensors() is None and "decoded lazily" in lazy.description
    # header probing cannot see the truncated PNG, so it is only found while decoding
    assert [Path(p).name for p, _ in lazy.skipped] == ["h_text.jpg"]
    assert len(lazy) == len(eager) + 1
    got = [lazy[i] for i in range(len(lazy))]
    assert [Path(p).name for p, _ in lazy.skipped] == ["h_text.jpg", "g_truncated.png"]
    expected = [eager[i] for i in range(len(eager))]
    good = [g for i, g in enumerate(got) if i != 3]  # index 3 was g_truncated.png
    assert all(torch.equal(a[0], b[0]) for a, b in zip(good, expected, strict=True))
    assert torch.equal(got[3][0], expected[3][0])  # substituted by the next good image


def test_file_that_breaks_after_loading_is_substituted(class_folder: Path, monkeypatch, caplog):
    monkeypatch.setattr(options, "PRELOAD_LIMIT_BYTES", 0)
    ds = load_images(str(class_folder), image_size=8, channels=1)
    (class_folder / "dog" / "0.png").write_text("overwritten mid-training")
    with caplog.at_level(logging.WARNING, logger="pixelforge.data"):
        for _ in range(2):  # two epochs: the failure is logged once and remembered
            items = [ds[i] for i in range(len(ds))]
    assert len(items) == 6 and all(img.shape == (1, 8, 8) for img, _ in items)
    assert items[3][1] == 2  # dog/0.png replaced by dog/1.png, with dog/1.png's label
    assert len(ds.skipped) == 1 and ds.skipped[0][0].endswith("0.png")
    assert len([r for r in caplog.records if "could not decode" in r.getMessage()]) == 1
