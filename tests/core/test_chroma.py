"""core.chroma: the colouriser's recombination keeps the input's luma exactly (8 and 16 bits),
and chroma that would leave the gamut is shrunk toward gray instead of clipped."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.core.chroma import exact_rgb, luma_of, recombine, rgb_to_ycbcr


def _random(bits: int, seed: int = 0, shape=(61, 67)) -> tuple[np.ndarray, np.ndarray]:
    """Random integer luma and random chroma over the whole [-1, 1] square (much of it out of
    gamut)."""
    rng = np.random.default_rng(seed)
    dtype = np.uint16 if bits == 16 else np.uint8
    luma = rng.integers(0, 1 << bits, shape).astype(dtype)
    luma.flat[:4] = [0, (1 << bits) - 1, 1, (1 << bits) - 2]  # the extremes too
    chroma = rng.uniform(-1, 1, (2, *shape)).astype(np.float32)
    return luma, chroma


@pytest.mark.parametrize("bits", [8, 16])
def test_the_rounded_luma_of_the_output_is_the_input_luma(bits):
    for seed in range(3):
        luma, chroma = _random(bits, seed)
        rgb = exact_rgb(luma, chroma, bits)
        assert rgb.dtype == luma.dtype and rgb.shape == (*luma.shape, 3)
        assert np.array_equal(luma_of(rgb), luma)


def test_pillow_gray_conversion_of_an_8_bit_output_returns_the_input():
    luma, chroma = _random(8, 5)
    rgb = exact_rgb(luma, chroma, 8)
    assert np.array_equal(np.asarray(Image.fromarray(rgb).convert("L")), luma)
    assert (rgb.astype(int) != luma[..., None]).any()  # and it is colour, not gray


def test_in_gamut_colours_come_back_within_two_levels():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1
    _, chroma = rgb_to_ycbcr(x)
    back = exact_rgb(luma_of(rgb).astype(np.uint8), chroma[0].numpy(), 8)
    diff = np.abs(back.astype(int) - rgb)
    # the luma is rounded to a level and G absorbs it (/ 0.587); near the gamut edge the
    # chroma shrinks a little
    assert diff.max() <= 2 and diff.mean() < 0.3 and (diff == 2).mean() < 0.01


def test_out_of_gamut_chroma_is_shrunk_toward_gray_keeping_hue_and_luma():
    luma = np.array([[200, 40, 128]], np.uint8)  # bright, dark, mid
    chroma = np.zeros((2, 1, 3), np.float32)
    chroma[1] = 1.0  # Cr = +1: far too red for any of them
    chroma[0] = -0.5
    rgb = exact_rgb(luma, chroma, 8).astype(int)
    assert np.array_equal(luma_of(rgb), luma)
    assert rgb.min() >= 0 and rgb.max() <= 255
    # hue kept: the chroma of the result is a positive multiple (< 1) of the one asked for
    x = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    _, got = rgb_to_ycbcr(x)
    cb, cr = got[0, 0, 0].numpy(), got[0, 1, 0].numpy()
    assert (cr > 0).all() and (cb < 0).all() and (cr < 1).all()
    assert np.allclose(cb / cr, -0.5, atol=0.05)  # up to integer rounding
    # shrunk no more than needed: every pixel reaches the gamut's edge (to a level's rounding)
    assert ((rgb <= 1) | (rgb >= 254)).any(axis=2).all()


def test_zero_chroma_gives_gray():
    luma, _ = _random(16, 2)
    rgb = exact_rgb(luma, np.zeros((2, *luma.shape), np.float32), 16)
    assert np.array_equal(rgb, np.repeat(luma[..., None], 3, axis=2))


def test_float_recombination_keeps_the_luma_and_the_gamut():
    g = torch.Generator().manual_seed(0)
    luma = torch.rand(2, 1, 9, 11, generator=g) * 2 - 1
    chroma = torch.rand(2, 2, 9, 11, generator=g) * 2 - 1
    rgb = recombine(luma, chroma)
    assert rgb.abs().max() <= 1 + 1e-6
    assert (rgb_to_ycbcr(rgb)[0] - luma).abs().max() < 1e-5
    x = torch.rand(2, 3, 5, 5, generator=g) * 2 - 1  # a real colour picture round-trips
    assert (recombine(*rgb_to_ycbcr(x)) - x).abs().max() < 1e-5
