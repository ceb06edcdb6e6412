"""Tiling picked from a memory budget: the probe counts live activation bytes exactly on known
networks, a picture that does not fit is tiled, and the tiled result equals the whole-picture one
(API and CLI, every restoration verb that tiles)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import pixelforge
from pixelforge.errors import UserError
from pixelforge.pipelines import budget

from .conftest import verb_argv


def test_the_probe_counts_the_live_activations_of_known_networks():
    conv = nn.Conv2d(3, 8, 3, padding=1)  # one [1, 8, H, W] float32 output: 32 bytes a pixel
    assert budget.probe_bytes_per_pixel(conv, 3, 64) == 32.0
    chain = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
    assert budget.probe_bytes_per_pixel(chain, 3, 64) == 64.0  # conv output + ReLU output alive


def test_choose_tile_whole_when_it_fits_else_a_tile_that_fits(monkeypatch):
    monkeypatch.setattr(budget, "resident_bytes", lambda: 500 * 2**20)
    assert budget.choose_tile(1000, 1000, bytes_per_px=100, max_memory="1G") == 0
    tile = budget.choose_tile(4000, 3000, bytes_per_px=150, pad=16, max_memory="1.5G")
    room = 1.5 * 2**30 - 500 * 2**20 - 4000 * 3000 * budget.OUTPUT_BYTES_PER_PX
    assert 0 < tile < 3000 and (tile + 32) ** 2 * 150 * budget.SAFETY <= room
    assert (tile + 8 + 32) ** 2 * 150 * budget.SAFETY > room  # the largest multiple of 8 that fits
    assert budget.choose_tile(4000, 3000, bytes_per_px=150, max_memory="100M") == budget.MIN_TILE


@pytest.mark.parametrize("text,size", [("1.5G", int(1.5 * 2**30)), ("800M", 800 * 2**20),
                                       ("2GiB", 2 * 2**30), (str(2**30), 2**30)])
def test_memory_sizes_parse(text, size):
    assert budget.parse_memory(text) == size


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "10M"])
def test_bad_memory_sizes_are_refused_naming_the_parameter(text):
    with pytest.raises(UserError, match=r"^max_memory="):
        budget.parse_memory(text)


@pytest.mark.parametrize("verb", ["denoise", "upscale"])
def test_auto_tiling_equals_the_whole_picture(verb, verb_models, monkeypatch):
    pipe = pixelforge.load(verb_models[verb])
    x = torch.rand(1, 3, 150, 170, generator=torch.Generator().manual_seed(0)) * 2 - 1
    run = pipe.denoise if verb == "denoise" else pipe.upscale
    whole = run(x, tile=0, precision="fp32")
    seen = []
    real = budget.choose_tile

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr("pixelforge.pipelines.restore.choose_tile", spy)
    auto = run(x, precision="fp32", max_memory="64M")  # less than the process already uses
    assert seen == [budget.MIN_TILE]  # so it tiled, at the smallest tile
    assert (auto - whole).abs().max().item() < 2e-3  # 1e-3 on the [0, 1] scale


@pytest.mark.parametrize("verb", ["denoise", "upscale", "translate"])
def test_cli_max_memory_tiles_and_matches_the_untiled_run(verb, verb_models, run_cli, tmp_path,
                                                          caplog):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (150, 170, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    code, _, err = run_cli(verb_argv(verb, verb_models, [tmp_path / "a.png"], tmp_path / "whole",
                                     "--tile", "0", "--precision", "fp32"))
    assert code == 0, err
    extra = ["--tile-pad", "64"] if verb == "translate" else []
    code, _, err = run_cli(verb_argv(verb, verb_models, [tmp_path / "a.png"], tmp_path / "auto",
                                     "--max-memory", "64M", "--precision", "fp32", *extra))
    assert code == 0, err
    if verb == "translate":
        assert "approximate the whole-picture result" in caplog.text  # tiles differ: warned
    a = np.asarray(Image.open(tmp_path / "whole" / "a.png")).astype(int)
    b = np.asarray(Image.open(tmp_path / "auto" / "a.png")).astype(int)
    assert a.shape == b.shape
    if verb != "translate":  # restoration tiles equal one pass (translation's only approximate)
        assert np.abs(a - b).max() <= 1


def test_fit_scale_is_one_when_it_fits_else_the_factor_that_fits(monkeypatch):
    monkeypatch.setattr(budget, "resident_bytes", lambda: 500 * 2**20)
    assert budget.fit_scale(500, 500, bytes_per_px=100, out_pixels=10**6, max_memory="1G") == 1.0
    f = budget.fit_scale(2000, 2000, bytes_per_px=200, out_pixels=12 * 10**6, max_memory="1.5G")
    room = 1.5 * 2**30 - 500 * 2**20 - 12 * 10**6 * budget.OUTPUT_BYTES_PER_PX
    assert 0 < f < 1 and (2000 * f) ** 2 * 200 * budget.SAFETY == pytest.approx(room, rel=1e-6)
    floor = budget.fit_scale(2000, 1000, bytes_per_px=200, out_pixels=10**6, max_memory="64M")
    assert floor == budget.MIN_FILL_SIDE / 1000  # over any budget: never below 256 px across
    assert budget.fit_scale(200, 300, bytes_per_px=200, out_pixels=10**6, max_memory="64M") == 1


def test_a_hole_over_the_budget_is_filled_smaller_and_known_pixels_stay(monkeypatch):
    """A smooth picture: the fill at half resolution is close to the full-resolution fill and far
    closer than leaving the hole at zero; the pixels outside the hole are exactly the input's."""
    from pixelforge.pipelines.restore import load_restorer

    pipe = load_restorer("inpaint")
    y, x = torch.meshgrid(torch.linspace(-1, 1, 160), torch.linspace(-1, 1, 200), indexing="ij")
    img = torch.stack([0.6 * x, 0.5 * y, 0.3 * x * y])[None]  # [1, 3, 160, 200]
    mask = torch.zeros(1, 1, 160, 200)
    mask[..., 50:110, 60:140] = 1
    full = pipe.inpaint(img, mask, precision="fp32")
    # within the 256 px floor no crop is shrunk, and the memory probe is not even run
    assert "_bytes_per_px" not in pipe.__dict__
    monkeypatch.setattr("pixelforge.pipelines.restore.MIN_FILL_SIDE", 64)
    monkeypatch.setattr("pixelforge.pipelines.restore.fit_scale", lambda *a, **k: 0.5)
    half = pipe.inpaint(img, mask, precision="fp32")
    keep = mask == 0
    assert torch.equal(half.expand_as(img)[keep.expand_as(img)], img[keep.expand_as(img)])
    hole = mask.bool().expand_as(img)
    err_half = (half - img)[hole].abs().mean()
    err_full = (full - img)[hole].abs().mean()
    assert err_half < 2 * err_full + 0.02 and err_half < 0.25 * img[hole].abs().mean()
    assert not torch.equal(half, full)  # the smaller path ran


def test_cli_inpaint_takes_a_memory_budget(verb_models, run_cli, tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    code, _, err = run_cli(verb_argv("inpaint", verb_models, [tmp_path / "a.png"], tmp_path / "o",
                                     "--max-memory", "lots"))
    assert code == 2 and "--max-memory 'lots'" in err and not (tmp_path / "o").exists()
    code, _, err = run_cli(verb_argv("inpaint", verb_models, [tmp_path / "a.png"], tmp_path / "o",
                                     "--max-memory", "64M"))
    assert code == 0, err
    a = np.asarray(Image.open(tmp_path / "a.png")).astype(int)
    b = np.asarray(Image.open(tmp_path / "o" / "a.png")).astype(int)
    outside = np.ones(a.shape[:2], bool)
    outside[3:7, 2:7] = False  # the box 2,3,5,4 (x, y, w, h)
    assert np.array_equal(a[outside], b[outside]) and not np.array_equal(a, b)
