"""Every VAE family builds, round-trips shapes, samples deterministically, rejects bad options."""

import pytest
import torch

from pixelforge.errors import UserError
from pixelforge.models import MODELS, Generator
from pixelforge.pipelines.sampling import generate_images

VAE_FAMILIES = [n for n in MODELS.names() if MODELS.get(n).kind in ("vae", "vae-gan")]


def test_families_registered():
    assert {"vae", "beta-vae", "cvae", "vae-gan"} <= set(VAE_FAMILIES)


@pytest.mark.parametrize("name", VAE_FAMILIES)
@pytest.mark.parametrize("arch,size,channels", [("mlp", 16, 1), ("conv", 28, 1), ("conv", 32, 3)])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_encode_decode_round_trip_shapes(name, arch, size, channels, likelihood):
    fam = MODELS.get(name)
    m = fam.build("generator", image_size=size, channels=channels, latent_dim=6, arch=arch,
                  width=8, likelihood=likelihood, num_classes=3)
    assert isinstance(m, Generator)
    x = torch.rand(5, channels, size, size) * 2 - 1
    y = torch.tensor([0, 1, 2, 0, 1])
    mu, logvar = m.encode(x, y)
    assert mu.shape == logvar.shape == (5, 6)
    out = m.decode_raw(mu, y)
    img = m.decode(mu, y)
    assert out.shape == img.shape == (5, channels, size, size)
    assert img.min() >= -1 and img.max() <= 1
    assert m.recon_nll(out, x).shape == (5,)
    a, b = generate_images(m, 4, seed=3), generate_images(m, 4, seed=3)
    assert a.shape == (4, channels, size, size) and torch.equal(a, b)


def test_bernoulli_decode_is_probability_mapped_to_range():
    m = MODELS.get("vae").build("generator", image_size=16, channels=1, latent_dim=4, width=8)
    z = torch.randn(3, 4)
    torch.testing.assert_close(m.decode(z), torch.sigmoid(m.decode_raw(z)) * 2 - 1)


def test_cvae_conditions_on_labels():
    m = MODELS.get("cvae").build("generator", image_size=16, channels=1, latent_dim=4, width=8,
                                 num_classes=10)
    z = torch.zeros(2, 4)
    assert not torch.equal(m.decode(z, torch.tensor([0, 0])), m.decode(z, torch.tensor([1, 1])))
    assert torch.equal(m.default_labels(12), torch.arange(12) % 10)


@pytest.mark.parametrize("params,match", [({"likelihood": "poisson"}, "likelihood"),
                                          ({"arch": "resnet"}, "arch"),
                                          ({"beta": -1.0}, "beta")])
def test_bad_options_are_user_errors(params, match):
    with pytest.raises(UserError, match=match):
        MODELS.get("vae").build("generator", image_size=16, channels=1, latent_dim=4, **params)


def test_cvae_without_labels_is_user_error():
    with pytest.raises(UserError, match="labelled"):
        MODELS.get("cvae").build("generator", image_size=16, channels=1, latent_dim=4,
                                 num_classes=0)


def test_unknown_param_is_rejected_by_family():
    with pytest.raises(UserError, match="not an option"):
        MODELS.get("vae").check_params({"num_classes": 10})


def test_vae_gan_discriminator_spectral_norm():
    from pixelforge.nn.layers import spectral_norm_weights

    fam = MODELS.get("vae-gan")
    plain = fam.build("discriminator", image_size=16, channels=1, disc_width=8,
                      disc_spectral_norm=False)
    sn = fam.build("discriminator", image_size=16, channels=1, disc_width=8)  # the default
    assert not spectral_norm_weights(plain)
    layers = [m for m in sn.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert {id(m) for _, m in spectral_norm_weights(sn)} == {id(m) for m in layers}
    for _ in range(10):  # power iterations run in training-mode forwards
        sn(torch.randn(4, 1, 16, 16))
    for m in layers:
        w = m.weight.detach().reshape(m.weight.shape[0], -1)
        assert abs(float(torch.linalg.matrix_norm(w, 2)) - 1) < 0.05
