"""The realistic (Real-ESRGAN-style) degradation chain: seeded, exactly sized, each operator doing
what it says on a real photo, selectable by the degraded-photos builder; and the Gabor-energy
feature network of the photo upscaler's perceptual loss."""

from __future__ import annotations

import pytest
import torch

from pixelforge.data import realistic as rl
from pixelforge.data.degradations import degrade, gaussian_blur, parse_degradation
from pixelforge.data.degraded_photos import DegradedPhotos, task_degradation
from pixelforge.errors import UserError
from pixelforge.metrics.restoration import psnr

from .conftest import DATA


def high_freq_energy(x: torch.Tensor) -> float:
    """Mean squared Laplacian: the energy of the finest detail."""
    lap = 4 * x[..., 1:-1, 1:-1] - x[..., :-2, 1:-1] - x[..., 2:, 1:-1] - x[..., 1:-1, :-2] \
        - x[..., 1:-1, 2:]
    return float(lap.pow(2).mean())


def test_the_chain_is_a_pure_function_of_the_seed(photo):
    x = photo[None]
    a, b = degrade(x, "realistic:4", 7), degrade(x, "realistic:4", 7)
    assert torch.equal(a, b)
    others = [degrade(x, "realistic:4", s) for s in (8, 9, 10)]
    assert all(float((a - o).abs().mean()) > 1e-3 for o in others)
    gen = torch.Generator().manual_seed(7)
    assert torch.equal(degrade(x, "realistic:4", gen), a)  # int seed == its Generator


@pytest.mark.parametrize("h, w, scale", [(97, 103, 4), (65, 33, 4), (31, 45, 2), (23, 17, 1)])
def test_output_size_is_exact_for_odd_sizes(h, w, scale):
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for seed in range(4):  # different draws take different resize paths
        y = degrade(x, f"realistic:{scale}", seed)
        assert y.shape == (2, 3, h // scale, w // scale)
        assert float(y.min()) >= -1 and float(y.max()) <= 1
    assert degrade(x[0], f"realistic:{scale}", 0).shape == (3, h // scale, w // scale)


def test_jpeg_at_q10_loses_more_than_at_q90(photo):
    x = photo[None]
    assert float(psnr(rl.jpeg(x, 10), x)) < float(psnr(rl.jpeg(x, 90), x)) - 8
    from pixelforge.data.degradations import jpeg

    assert torch.equal(rl.jpeg(x, 30), jpeg(x, 30))  # the one JPEG of the package


@pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
def test_blur_kernels_sum_to_one_and_remove_high_frequencies(photo, beta):
    x = photo[None]
    mild = rl.gaussian_kernel(13, 0.8, 0.8, 0.0, beta)
    strong = rl.gaussian_kernel(21, 2.5, 1.2, 0.7, beta)  # anisotropic, rotated
    for k in (mild, strong):
        assert abs(float(k.sum()) - 1) < 1e-5
    e0 = high_freq_energy(x)
    e1, e2 = high_freq_energy(rl.filter2d(x, mild)), high_freq_energy(rl.filter2d(x, strong))
    assert e2 < e1 < 0.7 * e0


def test_anisotropic_kernel_blurs_along_its_angle():
    k = rl.gaussian_kernel(21, 3.0, 0.5, 0.0)  # long along x
    assert float(k.sum(0).std()) < float(k.sum(1).std())  # spread over columns, peaked in rows
    rotated = rl.gaussian_kernel(21, 3.0, 0.5, torch.pi / 2)
    assert torch.allclose(rotated, k.T, atol=1e-6)


def test_a_sinc_kernel_rings_and_a_lower_cutoff_blurs_more(photo):
    k = rl.sinc_kernel(21, torch.pi / 3)
    assert abs(float(k.sum()) - 1) < 1e-5 and float(k.min()) < 0  # negative lobes: ringing
    x = photo[None]
    lo, hi = rl.filter2d(x, rl.sinc_kernel(21, torch.pi / 4)), rl.filter2d(x, k)
    assert high_freq_energy(lo) < high_freq_energy(hi) < high_freq_energy(x)


@pytest.mark.parametrize("gray", [False, True])
def test_noise_operators_add_the_noise_they_name(photo, gray):
    x = photo[None]
    g = torch.Generator().manual_seed(0)
    n = rl.gaussian_noise(x, 20.0, gray, g) - x
    assert abs(float(n.std()) * 127.5 - 20) < 1.0
    same = torch.allclose(n[:, 0], n[:, 1], atol=1e-5)
    assert same == gray  # gray noise: one draw for the three channels
    p1 = rl.poisson_noise(x, 1.0, gray, torch.Generator().manual_seed(0)) - x
    p3 = rl.poisson_noise(x, 3.0, gray, torch.Generator().manual_seed(0)) - x
    assert 0 < float(p1.std()) and abs(float(p3.std()) / float(p1.std()) - 3) < 1e-3
    assert torch.allclose(p1[:, 0], p1[:, 2], atol=1e-5) == gray


def test_poisson_noise_grows_with_brightness():
    dark = torch.full((1, 1, 64, 64), -0.8)
    bright = torch.full((1, 1, 64, 64), 0.8)
    ramp = torch.linspace(-1, 1, 64).view(1, 1, 1, 64).expand(1, 1, 64, 64)
    x = torch.cat([dark, bright, ramp])  # the ramp keeps the grey-level count the same for all
    n = rl.poisson_noise(x, 1.0, False, torch.Generator().manual_seed(0)) - x
    assert float(n[1].std()) > 1.5 * float(n[0].std())


@pytest.mark.parametrize("mode", rl.RESIZE_MODES)
def test_resize_hits_the_size_and_keeps_the_mean(photo, mode):
    x = photo[None]
    y = rl.resize(x, (37, 29), mode)
    assert y.shape == (1, 3, 37, 29)
    assert abs(float(y.mean()) - float(x.mean())) < 0.02


def test_the_chain_degrades_more_than_bicubic_alone(photo):
    """Averaged over seeds the realistic input is further from the clean downscale than the
    bicubic input is (blur, noise and JPEG on top of the resize)."""
    x = photo[None]
    bic = degrade(x, "bicubic:4", 0)
    worse = [float(psnr(degrade(x, "realistic:4", s), bic)) for s in range(6)]
    assert sum(worse) / len(worse) < 30


def test_parse_names_and_refuses_bad_scales():
    assert parse_degradation("realistic:4").name == "realistic:4"
    assert parse_degradation("realistic").name == "realistic:1"
    for bad in ("realistic:0", "realistic:2.5", "realistic:x"):
        with pytest.raises(UserError, match="degradation"):
            parse_degradation(bad)


def test_the_builder_selects_bicubic_or_realistic_for_upscaling():
    assert task_degradation("upscale", "blind", 4) == "bicubic:4"  # the section's default
    assert task_degradation("upscale", "bicubic", 2) == "bicubic:2"
    assert task_degradation("upscale", "realistic", 4) == "realistic:4"
    assert task_degradation("denoise", "noise:25", 1) == "noise:25"
    with pytest.raises(UserError, match="restore.degradation 'noise:25'.*bicubic or realistic"):
        task_degradation("upscale", "noise:25", 4)


def test_realistic_items_are_seeded_and_sized():
    files = sorted(DATA.glob("*.png"))
    kw = dict(task="upscale", crop=47, scale=4, patches_per_image=3)  # crop -> 44 (mod 4)
    real = DegradedPhotos(files, degradation="realistic", seed=3, **kw)
    again = DegradedPhotos(files, degradation="realistic", seed=3, **kw)
    bic = DegradedPhotos(files, degradation="bicubic", seed=3, **kw)
    other = DegradedPhotos(files, degradation="realistic", seed=4, **kw)
    for i in (0, 5):
        a, b, c = real[i], again[i], bic[i]
        assert a["input"].shape == (3, 11, 11) and a["target"].shape == (3, 44, 44)
        assert torch.equal(a["input"], b["input"]) and torch.equal(a["target"], c["target"])
        assert not torch.equal(a["input"], c["input"])
        levels = (a["input"] + 1) * 127.5
        assert float((levels - levels.round()).abs().max()) < 1e-3  # rounded to 8 bits
        assert not torch.equal(a["input"], other[i]["input"])
    assert "realistic:4" in real.description


def test_gabor_energy_is_phase_blind_and_sees_blur(photo):
    from pixelforge.losses.perceptual import GaborEnergy
    from pixelforge.training.restore import FeatureLoss

    g = GaborEnergy()
    t = torch.arange(64, dtype=torch.float32)
    wave = torch.cos(2 * torch.pi * t / 5).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    shifted = torch.cos(2 * torch.pi * (t + 1.25) / 5).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    e, s = g(wave)[0][..., 16:-16, 16:-16], g(shifted)[0][..., 16:-16, 16:-16]
    assert float((e - s).abs().max()) < 0.05 * float(e.max())  # a quarter period apart: same
    loss = FeatureLoss(GaborEnergy())
    x = photo[None]
    assert float(loss(x, x)) == 0.0
    mild, strong = float(loss(gaussian_blur(x, 0.7), x)), float(loss(gaussian_blur(x, 2.0), x))
    assert 0 < mild < strong
    pixel_shift = float(loss(torch.roll(wave, 1, -1), wave))
    assert pixel_shift < 0.1 * float(loss(torch.zeros_like(wave), wave))
