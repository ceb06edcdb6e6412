"""Tiny trained runs shared by the CLI tests: a GAN and a VAE, 16 px digits, a few steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelforge.cli.main import main

GAN = {"model.name": "seed-dcgan", "model.image_size": 16, "model.channels": 1,
       "model.latent_dim": 16, "train.batch_size": 16, "train.steps": 2,
       "train.log_every": 1, "train.sample_every": 2, "train.checkpoint_every": 2,
       "train.n_samples": 4, "train.precision": "fp32"}
VAE = {**GAN, "model.name": "vae", "model.latent_dim": 8, "model.params": "{width: 16}",
       "train.lr_g": 1e-3, "train.betas": "[0.9, 0.999]"}


def as_args(overrides: dict) -> list[str]:
    """{'train.steps': 2} -> ['--train.steps', '2']."""
    out: list[str] = []
    for key, value in overrides.items():
        out += [f"--{key}", str(value)]
    return out


def _train(root: Path, data: Path, overrides: dict) -> Path:
    run = root / "run"
    code = main(["train", "--out", str(run), "--quiet", "--data", str(data), *as_args(overrides)])
    assert code == 0, f"training the fixture run failed with exit code {code}"
    return run


@pytest.fixture(scope="session")
def gan_overrides() -> dict:
    """The tiny seed-dcgan config of the fixture runs, as dotted overrides."""
    return dict(GAN)


@pytest.fixture(scope="session")
def gan_run(tmp_path_factory, tiny_npz) -> Path:
    """A seed-dcgan run folder (2 steps, one checkpoint)."""
    return _train(tmp_path_factory.mktemp("gan"), tiny_npz, GAN)


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory, tiny_npz) -> Path:
    """A conv VAE run folder (2 steps, one checkpoint)."""
    return _train(tmp_path_factory.mktemp("vae"), tiny_npz, VAE)
