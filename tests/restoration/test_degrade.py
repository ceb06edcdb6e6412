"""Degradations: stated statistics (noise sigma, JPEG quality tables, blur, bicubic) and determinism."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.data import degradations as dg
from pixelforge.errors import UserError

# IJG (libjpeg) standard luminance quantisation table (JPEG spec Annex K.1), natural order
IJG_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40,
            57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35,
            55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112,
            100, 103, 99]


def ijg_table(quality: int) -> list[int]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality  # integer, as libjpeg
    return [min(255, max(1, int((q * scale + 50) // 100))) for q in IJG_LUMA]


@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
def test_noise_std_matches_sigma_on_the_255_scale(sigma):
    x = torch.zeros(3, 128, 128)  # mid grey: clipping never reached at these sigmas (3.3 sd < 127)
    y = dg.gaussian_noise(x, sigma, seed=1)
    std = float((y - x).std() * 127.5)
    assert abs(std - sigma) < 0.03 * sigma
    assert abs(float((y - x).mean() * 127.5)) < 0.5


def test_noise_is_deterministic_per_seed_and_clipped(photo):
    a, b = dg.gaussian_noise(photo, 25, seed=3), dg.gaussian_noise(photo, 25, seed=3)
    assert torch.equal(a, b)
    assert not torch.equal(a, dg.gaussian_noise(photo, 25, seed=4))
    assert a.min() >= -1 and a.max() <= 1
    unclipped = dg.gaussian_noise(torch.full((1, 32, 32), 0.99), 50, seed=0, clip=False)
    assert unclipped.max() > 1  # clip=False really leaves the range


@pytest.mark.parametrize("quality", [30, 50, 75, 95])
def test_jpeg_uses_the_ijg_table_of_the_quality(photo, quality):
    data = dg.jpeg_bytes(photo, quality)
    with Image.open(io.BytesIO(data)) as im:
        luma = list(im.quantization[0])
    assert sorted(luma) == sorted(ijg_table(quality))  # Pillow stores zig-zag order
    dec = dg.jpeg(photo, quality)
    with Image.open(io.BytesIO(data)) as im:
        ref = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.equal(dec, ref)


def test_jpeg_error_falls_as_quality_rises(photo):
    err = [float((dg.jpeg(photo, q) - photo).abs().mean()) for q in (30, 60, 95)]
    assert err[0] > err[1] > err[2] > 0


def test_blur_matches_a_reference_gaussian_and_keeps_the_mean(photo):
    from scipy.ndimage import gaussian_filter

    sigma = 1.0
    ours = dg.gaussian_blur(photo, sigma)
    # scipy's "mirror" is torch's "reflect"; truncate 3 sigma gives the same 7-tap kernel
    ref = gaussian_filter(photo.double().numpy(), sigma=(0, sigma, sigma), mode="mirror",
                          truncate=3.0)
    assert dg.blur_kernel_size(sigma) == 7
    assert np.allclose(ours.numpy(), ref, atol=1e-5)
    assert abs(float(ours.mean() - photo.mean())) < 1e-3


def test_bicubic_down_matches_pil_within_rounding(photo):
    lr = dg.bicubic_down(photo, 4)
    assert lr.shape == (3, 24, 24)
    a = ((photo + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    pil = np.asarray(Image.fromarray(a).resize((24, 24), Image.Resampling.BICUBIC)).astype(float)
    ours = ((lr + 1) * 127.5).permute(1, 2, 0).numpy()
    assert np.abs(ours - pil).max() <= 2.0 and np.abs(ours - pil).mean() < 0.5
    odd = dg.bicubic_down(photo[:, :95, :90], 4)  # mod-cropped first
    assert odd.shape == (3, 23, 22)


def test_blind_mix_is_seeded_and_varies_per_image(photo):
    batch = photo.expand(6, -1, -1, -1)
    a, b = dg.blind(batch, seed=7), dg.blind(batch, seed=7)
    assert torch.equal(a, b)
    diffs = [float((a[i] - photo).abs().mean()) for i in range(6)]
    assert len({round(d, 4) for d in diffs}) == 6  # each image its own draw
    params = [dg.blind_params(torch.Generator().manual_seed(s)) for s in range(400)]
    sig = np.array([p["sigma"] for p in params])
    assert 0 <= sig.min() and sig.max() <= 50 and abs(sig.mean() - 25) < 2.5
    q = [p["jpeg"] for p in params if p["jpeg"]]
    assert min(q) >= 30 and max(q) <= 95 and 0.4 < len(q) / 400 < 0.6
    blur = [p["blur"] for p in params if p["blur"]]
    assert 0.2 <= min(blur) and max(blur) <= 1.2 and 0.2 < len(blur) / 400 < 0.4


def test_parse_degradation_names_and_errors():
    assert dg.parse_degradation("noise:25") == dg.Degradation("noise", 25)
    assert dg.parse_degradation("bicubic:4").name == "bicubic:4"
    assert dg.parse_degradation("blind").protocol()["blind"]["sigma"] == (0.0, 50.0)
    for bad in ("noise", "jpeg:0", "jpeg:30.5", "bicubic:1.5", "sharpen:2", "noise:-1"):
        with pytest.raises(UserError):
            dg.parse_degradation(bad)


def test_restoration_pair_shapes_and_seeding(photo):
    batch = photo[None, :, :94, :90].expand(2, -1, -1, -1)
    sr = dg.restoration_pair(batch, "bicubic:4", seed=0)
    assert sr["target"].shape == (2, 3, 92, 88) and sr["input"].shape == (2, 3, 23, 22)
    a = dg.restoration_pair(batch, "noise:25", seed=5, quantize=True)
    assert torch.equal(a["input"], dg.restoration_pair(batch, "noise:25", seed=5, quantize=True)["input"])
    q = (a["input"] + 1) * 127.5  # uint8 value v is v / 127.5 - 1: on 8-bit levels
    assert torch.allclose(q, q.round(), atol=1e-4)
