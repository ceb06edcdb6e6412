"""Tiny VAE-family configs for the vae tests (16 px digits, a few steps)."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL = {
    "vae": {"width": 32},
    "beta-vae": {"width": 32, "kl_warmup": 4},
    "cvae": {"width": 32},
    "vae-gan": {"width": 8, "disc_width": 8},
}


def _vae_overrides(data: Path | str, name: str = "vae", **extra) -> dict:
    base = {"model.name": name, "model.image_size": 16, "model.channels": 1,
            "model.latent_dim": 8, "model.params": dict(SMALL.get(name, {})),
            "data.path": str(data), "train.batch_size": 16, "train.steps": 4,
            "train.log_every": 1, "train.sample_every": 2, "train.checkpoint_every": 2,
            "train.n_samples": 4, "train.precision": "fp32", "train.lr_g": 1e-3,
            "train.betas": [0.9, 0.999]}
    params = extra.pop("params", {})
    base["model.params"].update(params)
    base.update(extra)
    return base


@pytest.fixture(scope="session")
def vae_overrides():
    return _vae_overrides
