"""Restoration metrics against known values: PSNR, Y channel, border crop, hole-only PSNR, SSIM."""

from __future__ import annotations

import math

import torch

from pixelforge.metrics.restoration import protocol, psnr, restoration_scores, rgb_to_y, ssim


def test_psnr_of_a_constant_offset():
    t = torch.zeros(2, 3, 16, 16)
    p = t + 2 * 0.05  # 0.05 on the [0, 1] scale
    expected = 10 * math.log10(1 / 0.05 ** 2)
    assert torch.allclose(psnr(p, t, quantize=False), torch.tensor(expected, dtype=torch.float64))


def test_y_channel_is_bt601_studio_range():
    white, black = torch.ones(1, 3, 1, 1), torch.zeros(1, 3, 1, 1)
    assert abs(float(rgb_to_y(white)) - 235 / 255) < 1e-3
    assert abs(float(rgb_to_y(black)) - 16 / 255) < 1e-6


def test_border_crop_and_hole_mask_select_pixels():
    t = torch.zeros(1, 3, 20, 20)
    p = t.clone()
    p[..., :2, :] = 1  # error only in a 2 px top border
    assert float(psnr(p, t, crop=2)) > 100 and float(psnr(p, t)) < 20
    mask = torch.zeros(1, 1, 20, 20)
    mask[..., 5:15, 5:15] = 1
    assert float(psnr(p, t, mask=mask)) > 100  # the error lies outside the hole
    p2 = t.clone()
    p2[..., 5:15, 5:15] = 0.2
    whole, hole = float(psnr(p2, t)), float(psnr(p2, t, mask=mask))
    assert hole < whole and abs((hole - whole) - 10 * math.log10(100 / 400)) < 1e-4


def test_ssim_is_one_for_identical_and_falls_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    assert abs(float(ssim(x, x)) - 1) < 1e-9
    a = float(ssim(x + 0.05 * torch.randn(x.shape, generator=g), x))
    b = float(ssim(x + 0.3 * torch.randn(x.shape, generator=g), x))
    assert 1 > a > b


def test_scores_per_kind_and_protocol():
    x = torch.zeros(1, 3, 16, 16)
    assert set(restoration_scores(x + 0.1, x, kind="upscale", scale=2)) == \
        {"psnr_y", "ssim_y", "psnr_rgb"}
    assert "psnr_hole" in restoration_scores(x, x, kind="inpaint", mask=torch.ones(1, 1, 16, 16))
    assert protocol("upscale", scale=4)["border_crop"] == 4


def test_evaluate_restoration_ranks_a_real_method_above_doing_nothing(photo):
    from pixelforge.baselines import classical as cl
    from pixelforge.metrics.restoration import evaluate_restoration

    clean = [photo[:, :48, :48], photo[:, 48:, 48:]]
    same = evaluate_restoration(lambda x: x, "denoise", clean, spec="noise:25", seed=1)
    again = evaluate_restoration(lambda x: x, "denoise", clean, spec="noise:25", seed=1)
    nlm = evaluate_restoration(lambda x: cl.nlmeans(x, 25), "denoise", clean, spec="noise:25",
                               seed=1)
    assert same["psnr"] == again["psnr"] and nlm["psnr"] > same["psnr"] + 1
    assert nlm["protocol"]["degradation"] == "noise:25" and nlm["megapixels_per_s"] > 0
    sr = evaluate_restoration(lambda x: cl.upscale_bicubic(x, 2), "upscale", clean,
                              spec="bicubic:2")
    nearest = evaluate_restoration(lambda x: x.repeat_interleave(2, -1).repeat_interleave(2, -2),
                                   "upscale", clean, spec="bicubic:2")
    assert sr["protocol"]["border_crop"] == 2 and sr["psnr_y"] > nearest["psnr_y"] + 0.3
    inp = evaluate_restoration(lambda x, m: cl.inpaint_telea(x, m), "inpaint", clean,
                               spec="medium")
    assert inp["psnr_hole"] < inp["psnr"]  # errors live in the hole only
