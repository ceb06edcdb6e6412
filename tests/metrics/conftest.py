"""Fixtures for the metrics tests: a stand-in image data set over MNIST arrays, tiny extractors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from pixelforge.metrics.extractor import Extractor, extractor_spec
from pixelforge.metrics.extractor_training import build_classifier
from pixelforge.models import Generator

ASSET = Path(__file__).resolve().parents[2] / "src" / "pixelforge" / "assets" / "mnist_12k.npz"


class ArrayImages:
    """The ImageDataset interface the metrics rely on, over a uint8 [N, C, H, W] tensor."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, name: str) -> None:
        self._images = images
        self._labels = labels if labels is not None else torch.full((len(images),), -1)
        self.num_classes = int(self._labels.max()) + 1 if labels is not None else 0
        self.image_size, self.channels = images.shape[-1], images.shape[1]
        self.description = f"{name} {len(images)} images"
        digest = hashlib.sha256(images.numpy().tobytes() + self._labels.numpy().tobytes())
        self.fingerprint = digest.hexdigest()[:16]

    @property
    def has_labels(self) -> bool:
        return self.num_classes > 0

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self._images[i].float() / 127.5 - 1.0, int(self._labels[i])

    def tensors(self):
        return self._images, self._labels


class LazyArrayImages(ArrayImages):
    """Same, but decoding per item (tensors() is None), like a large folder source."""

    def tensors(self):
        return None


@pytest.fixture(scope="session")
def mnist() -> dict[str, np.ndarray]:
    with np.load(ASSET, allow_pickle=False) as d:
        return {k: d[k] for k in ("x_train", "y_train", "x_test", "y_test")}


@pytest.fixture(scope="session")
def mnist_ds(mnist):
    """mnist_ds(split, n, labeled=True, lazy=False) -> a stand-in data set of the first n digits."""

    def make(split: str = "train", n: int = 1000, labeled: bool = True, lazy: bool = False):
        x = torch.from_numpy(mnist[f"x_{split}"][:n]).permute(0, 3, 1, 2).contiguous()
        y = torch.from_numpy(mnist[f"y_{split}"][:n].astype(np.int64)) if labeled else None
        cls = LazyArrayImages if lazy else ArrayImages
        return cls(x, y, f"mnist-{split}{'' if labeled else '-unlabeled'}")

    return make


@pytest.fixture
def untrained_extractor(mnist_ds):
    """An Extractor over an untrained (seeded) cnn: real features, no training time."""
    train = mnist_ds("train", 200)
    spec = extractor_spec(train, epochs=1, seed=0)
    torch.manual_seed(0)
    model = build_classifier(spec.settings())
    return Extractor(spec, model, {"accuracy": float("nan")}, Path("."), from_cache=False)


@pytest.fixture(scope="session")
def array_images():
    """The stand-in data set class, for tests that build their own images."""
    return ArrayImages


class BankGenerator(Generator):
    """A 'memorising' generator: each latent picks a row of an image bank. Freshly built (as the
    untrained baseline rebuilds it) the bank is blank, so it draws only black images."""

    def __init__(self, image_size: int = 28, channels: int = 1, latent_dim: int = 8,
                 bank_size: int = 64) -> None:
        super().__init__()
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        blank = torch.full((bank_size, channels, image_size, image_size), -1.0)
        self.register_buffer("bank", blank)
        self.gain = torch.nn.Parameter(torch.ones(()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        idx = (z[:, 0].abs() * 1000).long() % len(self.bank)
        return self.bank[idx] * self.gain


@pytest.fixture
def bank_generator(mnist_ds):
    """bank_generator(images float [N, C, H, W] or None) -> a BankGenerator holding them."""

    def make(images: torch.Tensor | None = None, image_size: int = 28) -> BankGenerator:
        n = 64 if images is None else len(images)
        gen = BankGenerator(image_size=image_size, bank_size=n)
        if images is not None:
            gen.bank.copy_(images)
        return gen

    return make


@pytest.fixture(scope="module")
def _module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("module-cache")


@pytest.fixture
def module_cache(_module_cache, monkeypatch):
    """One metric cache per test module (use via pytestmark): extractors train once per module."""
    monkeypatch.setenv("PIXELFORGE_CACHE", str(_module_cache))
