"""ELBO and IWAE bounds: IWAE_k >= ELBO, k=1 agreement, training helps held-out bounds; recon."""

import math

import pytest
import torch

import pixelforge
from pixelforge.config import build_config
from pixelforge.data import load_images
from pixelforge.metrics.likelihood import elbo_and_iwae, likelihood_scores
from pixelforge.metrics.reconstruction import bits_per_dim, reconstruction_scores
from pixelforge.models import MODELS
from pixelforge.pipelines.autoencode import dataset_arrays
from pixelforge.training import train


def _model(likelihood="bernoulli"):
    torch.manual_seed(0)
    return MODELS.get("vae").build("generator", image_size=16, channels=1, latent_dim=4, width=16,
                                   likelihood=likelihood)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_iwae_bound_is_at_least_elbo(likelihood):
    m = _model(likelihood)
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    if likelihood == "bernoulli":
        x = torch.sign(x)
    elbo, iwae = elbo_and_iwae(m, x, k=16, seed=0)
    assert elbo.shape == iwae.shape == (6,)
    assert torch.all(iwae >= elbo - 1e-4)
    assert torch.all(iwae > elbo)  # strictly for k > 1 with non-degenerate weights
    e1, w1 = elbo_and_iwae(m, x, k=1, seed=0)
    torch.testing.assert_close(e1, w1)


def test_iwae_chunking_does_not_change_the_bound():
    m = _model()
    x = torch.sign(torch.rand(3, 1, 16, 16) * 2 - 1)
    _, a = elbo_and_iwae(m, x, k=12, seed=5)
    _, b = elbo_and_iwae(m, x, k=12, seed=5, max_decode=3 * 5)  # chunks of 5, 5, 2 samples
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    assert abs(a.mean() - b.mean()) < 5.0  # same estimator, different draws


@pytest.mark.slow
def test_training_improves_held_out_elbo(tmp_path, tiny_npz, vae_overrides):
    ov = vae_overrides(tiny_npz, **{"train.steps": 100, "train.sample_every": 100,
                                    "train.checkpoint_every": 100, "train.log_every": 50,
                                    "params": {"width": 64}})
    cfg = build_config({}, ov)
    untrained = MODELS.get("vae").build("generator", image_size=16, channels=1, latent_dim=8,
                                        width=64)
    train(cfg, tmp_path / "run", progress=False)
    trained = pixelforge.load(tmp_path / "run", component="generator")  # the VAE network
    test = load_images(tiny_npz, image_size=16, channels=1, split="test")
    images, labels = dataset_arrays(test)
    before = likelihood_scores(untrained, images, k=8, seed=0)
    after = likelihood_scores(trained, images, k=8, seed=0)
    assert after["neg_elbo"] < before["neg_elbo"] - 30
    assert after["iwae_nll"] <= after["neg_elbo"]
    assert after["bits_per_dim"] < before["bits_per_dim"]


def test_reconstruction_scores_and_bits_per_dim():
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    perfect = reconstruction_scores(x, x)
    assert perfect["mse"] == 0 and perfect["ssim"] == pytest.approx(1.0)
    noisy = reconstruction_scores(x, (x + 0.2).clamp(-1, 1))
    assert 0 < noisy["mse"] and noisy["psnr"] < 100 and noisy["ssim"] < 1
    assert bits_per_dim(784 * math.log(2), 784, "bernoulli") == pytest.approx(1.0)
    assert bits_per_dim(0.0, 10, "gaussian") == pytest.approx(math.log2(127.5))
