"""Classical baselines each beat the degraded input on real photo crops; NL-means tuning finds the peak."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from pixelforge.baselines import classical as cl
from pixelforge.core.images import to_float, to_uint8
from pixelforge.data.degradations import bicubic_down, gaussian_noise
from pixelforge.data.masks import random_mask
from pixelforge.metrics.restoration import psnr, tune_nlmeans_h

from .conftest import load_crop


def noisy8(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """Seeded Gaussian noise, clipped and rounded to 8 bits (a noisy photo file)."""
    return to_float(to_uint8(gaussian_noise(x, sigma, seed)))


@pytest.fixture(scope="module")
def crops() -> torch.Tensor:
    return torch.stack([load_crop("colosseum_96.png"), load_crop("polar_bear_96.png")])


@pytest.mark.parametrize("name", ["nlmeans", "gaussian"])
def test_denoisers_beat_the_noisy_input(crops, name):
    noisy = noisy8(crops, 25)
    out = cl.BASELINES["denoise"][name](noisy, 25)
    gain = psnr(out, crops) - psnr(noisy, crops)
    assert out.shape == crops.shape
    # measured: nlmeans +2.6/+7.3 dB, gaussian +0.05/+6.2 (colosseum/bear)
    assert float(gain.mean()) > {"nlmeans": 3.0, "gaussian": 1.5}[name], gain
    assert bool((gain > 0).all()), gain


@pytest.mark.slow
def test_bm3d_beats_the_noisy_input_and_nlmeans(crops):
    clean = crops[:1, :, 24:72, 24:72]  # 48 px: BM3D takes ~2.5 s per 48 px colour crop
    noisy = noisy8(clean, 25)
    ours, nlm = psnr(cl.bm3d_denoise(noisy, 25), clean), psnr(cl.nlmeans(noisy, 25), clean)
    assert float(ours) > float(psnr(noisy, clean)) + 4 and float(ours) > float(nlm)


def test_nlmeans_tuning_finds_an_interior_optimum(crops):
    best, scores = tune_nlmeans_h(list(crops), 25, candidates=[3.0, 14.0, 60.0])
    assert best == 14.0 and scores[14.0] > max(scores[3.0], scores[60.0]) + 1
    assert cl.nlmeans_h(25) == 14.0 and cl.nlmeans_h(20) == pytest.approx(11.0)


@pytest.mark.parametrize("scale", [2, 4])
def test_upscalers_beat_nearest_neighbour(crops, scale):
    lr = bicubic_down(crops, scale)
    nearest = F.interpolate(lr, scale_factor=scale, mode="nearest")
    base = psnr(nearest, crops, crop=scale, y_channel=True)
    for fn in (cl.upscale_bicubic, cl.upscale_lanczos):
        up = fn(lr, scale)
        assert up.shape == crops.shape
        assert bool((psnr(up, crops, crop=scale, y_channel=True) > base + 0.3).all())


@pytest.mark.parametrize("fn", [cl.inpaint_telea, cl.inpaint_ns])
def test_inpainters_beat_a_mean_colour_fill(crops, fn):
    masks = torch.stack([random_mask("medium", 96, 96, seed=s) for s in (1, 2)])
    known = 1 - masks
    mean = (crops * known).sum(dim=(2, 3), keepdim=True) / known.sum(dim=(2, 3), keepdim=True)
    flat = crops * known + mean * masks
    out = fn(crops * known, masks)
    assert float(((out - crops) * known).abs().max()) <= 0.5 / 127.5 + 1e-6  # known kept (8-bit)
    assert bool((psnr(out, crops, mask=masks) > psnr(flat, crops, mask=masks) + 1).all())


@pytest.mark.shared_data
def test_nlmeans_beats_noisy_on_held_out_photo_crops(photos_dir):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from restoration_baselines import photo_crops

    clean = torch.stack(photo_crops("test", 4, 64, seed=3, root=photos_dir))
    noisy = noisy8(clean, 15, seed=2)
    assert float(psnr(cl.nlmeans(noisy, 15), clean).mean()) > float(psnr(noisy, clean).mean()) + 2


def test_benchmark_bm3d_cache_returns_what_bm3d_computed(monkeypatch):
    """benchmarks/restoration.py keeps BM3D's outputs keyed by input and sigma: the second call
    reads the file (BM3D itself is not called again) and equals the first; another sigma is
    another entry."""
    import importlib.util

    bench_dir = Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench_dir))  # its own imports (docs_tables)
    spec = importlib.util.spec_from_file_location("restoration_bench", bench_dir / "restoration.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # by path: `restoration` is also this test package's name

    x = noisy8(torch.zeros(1, 3, 24, 24), 25, seed=0)
    first = bench.bm3d_cached(x, 25.0)
    assert torch.equal(first, cl.bm3d_denoise(x, 25.0))
    monkeypatch.setattr(cl, "bm3d_denoise", lambda *a: pytest.fail("BM3D ran again"))
    assert torch.equal(bench.bm3d_cached(x, 25.0), first)
    with pytest.raises(pytest.fail.Exception):
        bench.bm3d_cached(x, 15.0)
