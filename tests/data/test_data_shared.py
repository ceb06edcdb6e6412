"""Real data sets from ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pixelforge.data import load_images

pytestmark = pytest.mark.shared_data


def test_cifar10_npz_at_native_size_is_pixel_exact(shared_dir: Path):
    path = shared_dir / "cifar10.npz"
    ds = load_images(str(path), image_size=32, channels=3)
    images, labels = ds.tensors()
    assert images.shape == (19000, 3, 32, 32) and ds.num_classes == 10
    assert ds.class_names[0] == "airplane" and ds.class_names[-1] == "truck"
    with np.load(path) as raw:
        assert torch.equal(images[:100], torch.from_numpy(raw["x_train"][:100]).permute(0, 3, 1, 2))
        assert labels.tolist() == raw["y_train"].tolist()
    image, label = ds[123]
    assert image.shape == (3, 32, 32) and -1 <= image.min() <= image.max() <= 1
    assert 0 <= label < 10
    assert len(load_images(str(path), image_size=32, channels=3, split="test")) == 10000


def test_olivetti_faces_by_key_upscaled_to_rgb(shared_dir: Path):
    ds = load_images(f"{shared_dir / 'faces.npz'}:x_olivetti", image_size=48, channels=3)
    assert len(ds) == 400 and not ds.has_labels
    assert ds.tensors()[0].shape == (400, 3, 48, 48)
