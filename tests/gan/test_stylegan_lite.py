"""stylegan-lite: shapes, demodulation maths, deterministic eval sampling, truncation in W,
style mixing, conditioning, save/load and bf16/channels_last training passes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pixelforge.api import load
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.models.stylegan_lite import (
    ModulatedConv2d,
    StyleGANLiteDiscriminator,
    StyleGANLiteGenerator,
    minibatch_stddev,
)
from pixelforge.pipelines.sampling import generate_images

TINY = dict(image_size=16, channels=1, latent_dim=16, width=4)


def _gen(**kw) -> StyleGANLiteGenerator:
    torch.manual_seed(0)
    return StyleGANLiteGenerator(**{**TINY, **kw})


def _noisy(g: StyleGANLiteGenerator) -> StyleGANLiteGenerator:
    """Non-zero noise strengths, so the noise inputs actually change the output."""
    for layer in g.synthesis.convs:
        layer.noise_strength.data.fill_(0.5)
    return g


@pytest.mark.parametrize("size", [16, 28, 32])
def test_shapes_and_family_build(size):
    fam = MODELS.get("stylegan-lite")
    assert fam.kind == "gan"
    shared = dict(image_size=size, channels=3, latent_dim=8, num_classes=0, width=2,
                  spectral_norm=True, style_mixing=0.5, mapping_layers=2)
    fam.check_params({k: v for k, v in shared.items() if k not in ("image_size", "channels")})
    g, d = fam.build("generator", **shared), fam.build("discriminator", **shared)
    assert (g.image_size, g.channels, g.latent_dim, g.num_classes) == (size, 3, 8, 0)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, 3, size, size)
    assert d(x).shape == (3,)
    assert g.num_ws == len(g.synthesis.convs) + 1


@pytest.mark.parametrize("size", [8, 36, 100])  # below 16, or no 4-7 px base map
def test_bad_image_size_names_the_field(size):
    with pytest.raises(UserError, match="model.image_size"):
        StyleGANLiteGenerator(image_size=size)
    with pytest.raises(UserError, match="model.image_size"):
        StyleGANLiteDiscriminator(image_size=size)


@pytest.mark.parametrize("demodulate,k", [(True, 3), (False, 1)])
def test_modulated_conv_equals_per_sample_weight_grouped_conv(demodulate, k):
    torch.manual_seed(1)
    layer = ModulatedConv2d(3, 5, 8, kernel_size=k, demodulate=demodulate)
    x, w = torch.randn(4, 3, 6, 6), torch.randn(4, 8)
    with torch.no_grad():
        s = layer.affine(w)  # [N, I]
        wn = layer.weight[None] * layer.weight_gain * s[:, None, :, None, None]  # [N, O, I, k, k]
        if demodulate:
            wn = wn * torch.rsqrt(wn.square().sum((2, 3, 4), keepdim=True) + 1e-8)
        ref = F.conv2d(x.reshape(1, -1, 6, 6), wn.reshape(-1, 3, k, k), padding=k // 2, groups=4)
        out = layer(x, w)
    assert out.shape == (4, 5, 6, 6)
    torch.testing.assert_close(out, ref.reshape(4, 5, 6, 6), atol=1e-5, rtol=1e-5)


def test_eval_sampling_is_reproducible_and_training_noise_is_fresh():
    g = _noisy(_gen())
    a = generate_images(g, 6, seed=3, precision="fp32")
    assert torch.equal(a, generate_images(g, 6, seed=3, precision="fp32"))
    assert not torch.allclose(a, generate_images(g, 6, seed=4, precision="fp32"))
    assert torch.equal(generate_images(g, 6, seed=3), generate_images(g, 6, seed=3))  # auto precision too
    z = torch.randn(2, 16)
    g.train()
    with torch.no_grad():
        assert not torch.allclose(g(z), g(z))  # fresh noise per call
    g.eval()
    with torch.no_grad():
        assert torch.equal(g(z), g(z))  # the const noise buffers


def test_w_avg_tracks_training_and_truncation_pulls_toward_it():
    g = _gen(style_mixing=0.0, w_avg_beta=0.5)
    assert torch.count_nonzero(g.w_avg) == 0
    g.train()
    with torch.no_grad():
        for _ in range(4):
            g(torch.randn(16, 16))
    w_avg = g.w_avg.clone()
    assert w_avg.abs().sum() > 0
    g.eval()
    with torch.no_grad():
        g(torch.randn(16, 16))
        assert torch.equal(g.w_avg, w_avg)  # frozen outside training
        z = g.sample_latent(8, seed=0)
        center = g.synthesis(g.w_avg.expand(8, -1)[:, None].expand(-1, g.num_ws, -1))
        torch.testing.assert_close(g.synthesize(z, truncation=1.0), g.synthesize(z))
        dists = [(g.synthesize(z, truncation=psi) - center).abs().mean().item()
                 for psi in (1.0, 0.7, 0.4, 0.1, 0.01)]
    assert all(a > b for a, b in zip(dists, dists[1:], strict=False)), dists
    assert dists[-1] < 0.05 * dists[0]


def test_style_mixing_only_in_training():
    g = _gen(style_mixing=1.0)
    seen = []
    g.synthesis.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach()))
    z = torch.randn(4, 16)
    with torch.no_grad():
        g.train()
        g(z)
        g.eval()
        g(z)
    mixed, plain = seen
    assert mixed.shape == plain.shape == (4, g.num_ws, 16)
    assert not torch.allclose(mixed[:, 0], mixed[:, -1])  # two latents' styles
    assert torch.equal(plain, plain[:, :1].expand_as(plain))  # one style for every layer
    seen.clear()
    g0 = _gen(style_mixing=0.0).train()
    g0.synthesis.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach()))
    with torch.no_grad():
        g0(z)
    assert torch.equal(seen[0], seen[0][:, :1].expand_as(seen[0]))


def test_save_load_round_trip(tmp_path):
    g = _noisy(_gen(num_classes=3))
    g.train()
    with torch.no_grad():
        g(torch.randn(8, 16), torch.arange(8) % 3)  # non-zero w_avg must be saved too
    g.save_pretrained(tmp_path / "g")
    g2 = load(tmp_path / "g", component="generator")
    assert isinstance(g2, StyleGANLiteGenerator) and g2.num_classes == 3
    assert torch.equal(g2.w_avg, g.w_avg)
    for kw in ({}, {"labels": 2, "truncation": 0.6}):
        assert torch.equal(generate_images(g, 5, seed=1, precision="fp32", **kw),
                           generate_images(g2, 5, seed=1, precision="fp32", **kw))


def test_conditional_generator_and_discriminators():
    g = _gen(num_classes=3)
    a = generate_images(g, 4, seed=0, labels=1, precision="fp32")
    b = generate_images(g, 4, seed=0, labels=2, precision="fp32")
    assert not torch.allclose(a, b)  # the class changes the image
    assert generate_images(g, 4, seed=0).shape == (4, 1, 16, 16)  # classes cycled
    with pytest.raises(ValueError, match="labels"):
        g(torch.randn(2, 16))  # a programming error, not bad user input
    with pytest.raises(UserError, match="out of range"):
        generate_images(g, 2, labels=3)
    y = torch.tensor([0, 2])
    d = StyleGANLiteDiscriminator(16, 1, num_classes=3, width=4)
    x = torch.randn(2, 1, 16, 16)
    assert d(x, y).shape == (2,)
    assert not torch.allclose(d(x, y), d(x, torch.tensor([1, 1])))  # projection term
    ac = StyleGANLiteDiscriminator(16, 1, num_classes=3, width=4, aux_classifier=True,
                                   projection=False)
    logits, cls = ac(x)  # AC-GAN without projection needs no labels
    assert logits.shape == (2,) and cls.shape == (2, 3)
    both = StyleGANLiteDiscriminator(16, 1, num_classes=3, width=4, aux_classifier=True)
    assert [t.shape for t in both(x, y)] == [(2,), (2, 3)]
    with pytest.raises(UserError, match="aux_classifier"):
        StyleGANLiteDiscriminator(16, 1, num_classes=0, aux_classifier=True)


def test_spectral_norm_and_minibatch_stddev():
    from torch.nn.utils import parametrize

    d = StyleGANLiteDiscriminator(16, 1, width=4, spectral_norm=True)
    assert parametrize.is_parametrized(d.from_rgb, "weight")
    assert parametrize.is_parametrized(d.blocks[0].conv1, "weight")
    assert not parametrize.is_parametrized(StyleGANLiteDiscriminator(16, 1, width=4).fc, "weight")
    same = torch.randn(1, 3, 4, 4).expand(4, -1, -1, -1)
    assert minibatch_stddev(same)[:, 3].abs().max() < 1e-3  # no variety -> ~0
    varied = minibatch_stddev(torch.randn(6, 3, 4, 4))  # 6 is not a multiple of the group
    assert varied.shape == (6, 4, 4, 4) and varied[:, 3].min() > 0.1


def test_bf16_autocast_channels_last_train_step():
    g = _noisy(_gen(num_classes=3)).to(memory_format=torch.channels_last).train()
    d = StyleGANLiteDiscriminator(16, 1, num_classes=3, width=4, spectral_norm=True)
    d = d.to(memory_format=torch.channels_last)
    y = torch.arange(4) % 3
    with torch.autocast("cpu", torch.bfloat16):
        fake = g(torch.randn(4, 16), y)
        logits = d(fake.contiguous(memory_format=torch.channels_last), y)
    assert fake.shape == (4, 1, 16, 16) and logits.shape == (4,)
    logits.float().mean().backward()
    for net in (g, d):
        grads = [p.grad for p in net.parameters() if p.requires_grad]
        assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert g.synthesis.const.grad.abs().sum() > 0
