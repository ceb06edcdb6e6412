"""Shared fixtures: tiny offline data, an isolated cache, and the shared data folder when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ASSET = ROOT / "src" / "pixelforge" / "assets" / "mnist_12k.npz"

os.environ.setdefault("PIXELFORGE_CACHE", str(ROOT / ".cache" / "pixelforge-tests"))


# no wall-clock deadlines for property tests: the machines are shared and noisy
settings.register_profile("pixelforge", deadline=None)
settings.load_profile("pixelforge")


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """Tests (and in-process CLI calls with --threads) may change torch's thread count and the
    PERF switches: put them back."""
    from pixelforge.nn.perf import PERF

    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)
    PERF.reset()  # CLI options and A/B tests flip the speed switches


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own metric/extractor cache so results never leak between tests."""
    monkeypatch.setenv("PIXELFORGE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory) -> Path:
    """512 real MNIST digits (train) + 128 (test) as a small .npz in the shared-data format."""
    d = np.load(ASSET)
    path = tmp_path_factory.mktemp("data") / "tiny_mnist.npz"
    np.savez_compressed(path, x_train=d["x_train"][:512], y_train=d["y_train"][:512],
                        x_test=d["x_test"][:128], y_test=d["y_test"][:128])
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared data sets in {SHARED_DATA} (absent on a user's fresh clone)")
    return SHARED_DATA


@pytest.fixture
def tiny_overrides():
    """Builds a seed-dcgan config small enough to train a step in well under a second."""
    return _tiny_overrides


def _tiny_overrides(data: Path | str, **extra) -> dict:
    base = {"model.name": "seed-dcgan", "model.image_size": 16, "model.channels": 1,
            "model.latent_dim": 16, "data.path": str(data), "train.batch_size": 16,
            "train.steps": 6, "train.log_every": 1, "train.sample_every": 3,
            "train.checkpoint_every": 3, "train.n_samples": 4, "train.precision": "fp32",
            "eval.n_generated": 64, "eval.extractor_epochs": 1, "eval.batch_size": 64,
            "model.recipe": "none"}  # tests pick their settings; no recommended recipe mixes in
    base.update(extra)
    return base
