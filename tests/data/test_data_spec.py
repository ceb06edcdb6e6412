"""Spec resolution: 'default', data set names (offline), paths, bad specs and bad options."""

from __future__ import annotations

import re
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from pixelforge.data import ImageDataset, load_images
from pixelforge.errors import UserError


@pytest.fixture
def offline(monkeypatch, tmp_path: Path) -> Path:
    """No network (every urlopen fails) and an empty PIXELFORGE_DATA root; returns the root."""

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    root = tmp_path / "datasets"
    monkeypatch.setenv("PIXELFORGE_DATA", str(root))
    return root


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write MNIST-format (idx) image and label files as torchvision expects them unpacked."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    header = struct.pack(">iiii", 0x803, n, h, w)
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">ii", 0x801, n) + labels.tobytes()
    )


def test_default_is_the_embedded_mnist_subset():
    train = load_images("default", image_size=28, channels=1)
    test = load_images("default", image_size=28, channels=1, split="test")
    assert isinstance(train, ImageDataset)
    assert (len(train), len(test)) == (12000, 2000)
    assert train.num_classes == test.num_classes == 10 and train.has_labels
    assert set(train.labels.unique().tolist()) == set(range(10))
    assert (
        train.description.startswith("default ") and "[x_train] 12000 images" in train.description
    )


def test_default_resizes_to_any_size_and_channel_count():
    ds = load_images("default", image_size=40, channels=3, limit=50)
    image, label = ds[0]
    assert len(ds) == 50 and image.shape == (3, 40, 40) and 0 <= label < 10
    assert ds.tensors()[0].shape == (50, 3, 40, 40)


def test_unknown_spec_names_it_and_lists_the_accepted_forms():
    with pytest.raises(UserError) as err:
        load_images("imagenet-42", image_size=8, channels=1)
    message = str(err.value)
    assert "'imagenet-42'" in message and "\n" not in message
    for form in (
        "'default'",
        "folder",
        ".npz",
        "file.npz:key",
        "mnist",
        "fashion-mnist",
        "cifar10",
    ):
        assert form in message


def test_missing_paths_and_non_npz_files_are_errors(tmp_path: Path):
    with pytest.raises(UserError, match=re.escape(f"data path not found: {tmp_path / 'x.npz'}")):
        load_images(str(tmp_path / "x.npz"), image_size=8, channels=1)
    with pytest.raises(UserError, match="not found"):
        load_images("./mnist", image_size=8, channels=1)  # ./ forces a path, not the data set
    (tmp_path / "a.zip").write_bytes(b"PK")
    with pytest.raises(UserError, match="not a .npz archive"):
        load_images(str(tmp_path / "a.zip"), image_size=8, channels=1)
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(UserError, match="only applies to .npz"):
        load_images(f"{tmp_path / 'dir.npz'}:x", image_size=8, channels=1)


def test_path_objects_are_accepted(write_npz, digits):
    assert len(load_images(write_npz(x=digits[0]), image_size=8, channels=1)) == 30


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("image_size", 0),
        ("channels", 2),
        ("split", "valid"),
        ("limit", 0),
        ("resize_filter", "box"),
    ],
)
def test_bad_options_are_user_errors(option: str, value):
    kwargs = {"image_size": 8, "channels": 1, option: value}
    with pytest.raises(UserError, match=option):
        load_images("default", **kwargs)


@pytest.mark.parametrize("name", ["mnist", "cifar10", "fashion-mnist"])
def test_named_data_set_offline_gives_one_clear_line(offline: Path, name: str):
    with pytest.raises(UserError) as err:
        load_images(name, image_size=28, channels=1)
    message = str(err.value)
    assert message.startswith(f"could not download {name!r} to {offline}: no network (")
    assert message.endswith("Download it on a machine with internet or pass a folder/.npz")
    assert "\n" not in message and len(message) < 400


def test_named_data_set_without_download_says_it_is_missing(offline: Path):
    with pytest.raises(UserError, match=re.escape(f"data set 'cifar10' is not in {offline}")):
        load_images("CIFAR10", image_size=32, channels=3, download=False)


def test_default_root_is_under_the_user_cache(monkeypatch):
    from pixelforge.data.torchvision_source import data_root

    monkeypatch.delenv("PIXELFORGE_DATA", raising=False)
    assert data_root() == Path.home() / ".cache" / "pixelforge" / "datasets"


@pytest.mark.parametrize(
    ("spec", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")]
)
def test_named_mnist_like_sets_load_from_the_cache_root(offline: Path, spec: str, folder: str):
    rng = np.random.default_rng(0)
    raw = offline / folder / "raw"
    train_x = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    test_x = rng.integers(0, 256, (8, 28, 28), dtype=np.uint8)
    write_idx(raw, "train", train_x, np.arange(40, dtype=np.uint8) % 10)
    write_idx(raw, "t10k", test_x, np.arange(8, dtype=np.uint8))
    ds = load_images(spec, image_size=14, channels=3, download=False)
    assert len(ds) == 40 and ds.num_classes == 10 and ds.labels[:12].tolist() == [*range(10), 0, 1]
    assert ds.tensors()[0].shape == (40, 3, 14, 14)
    test = load_images(spec, image_size=28, channels=1, split="test", limit=5)
    assert len(test) == 5 and test.description.startswith("torchvision ")
    assert torch.equal(test.tensors()[0][:, 0], torch.from_numpy(test_x[:5]))


def test_celeba_goes_through_the_image_file_path(
    offline: Path, monkeypatch, make_image, save_image
):
    from torchvision import datasets

    folder = offline / "celeba" / "img_align_celeba"
    names = [f"{i:06d}.jpg" for i in range(1, 6)]
    for i, name in enumerate(names):
        save_image(make_image("RGB", 178, 218, seed=i), folder / name)

    class FakeCelebA:  # stands in for the 1.4 GB download; only what the loader reads
        base_folder = "celeba"

        def __init__(self, root, split, target_type, download):
            assert (root, split, target_type, download) == (str(offline), "test", [], True)
            self.filename = names[1:]

    monkeypatch.setattr(datasets, "CelebA", FakeCelebA)
    ds = load_images("celeba", image_size=32, channels=3, split="test")
    assert len(ds) == 4 and not ds.has_labels and ds.tensors()[0].shape == (4, 3, 32, 32)
    assert ds.description.startswith("torchvision celeba (test")
