"""metrics.colourfulness: Hasler & Suesstrunk's M on known pictures, and luma exactness."""

from __future__ import annotations

import math

import torch

from pixelforge.core.images import to_float
from pixelforge.metrics.colourfulness import colourfulness, colourisation_scores, luma_exactness


def _picture(pixels: list[tuple[int, int, int]], h: int = 4) -> torch.Tensor:
    """Columns of the given 8-bit colours, [1, 3, h, len(pixels)] in [-1, 1]."""
    t = torch.tensor(pixels, dtype=torch.uint8).T[:, None, :].expand(3, h, len(pixels))
    return to_float(t)[None]


def test_a_gray_picture_has_colourfulness_zero():
    gray = _picture([(v, v, v) for v in (0, 40, 128, 255)])
    assert colourfulness(gray).item() == 0.0
    assert colourfulness(gray[:, :1]).item() == 0.0


def test_a_red_and_blue_picture_matches_the_hand_computed_value():
    # half (255, 0, 0), half (0, 0, 255): rg = 255 | 0, yb = 127.5 | -255
    # std_rg = 127.5, mean_rg = 127.5; std_yb = 191.25, mean_yb = -63.75
    want = math.sqrt(127.5 ** 2 + 191.25 ** 2) + 0.3 * math.sqrt(127.5 ** 2 + 63.75 ** 2)
    pic = _picture([(255, 0, 0), (0, 0, 255)] * 3)
    assert abs(colourfulness(pic).item() - want) < 1e-9
    assert abs(want - 272.61) < 0.01


def test_luma_exactness_of_gray_and_of_a_luma_changing_output():
    gray = _picture([(v, v, v) for v in (10, 100, 200, 250)])[:, :1]
    same = gray.expand(-1, 3, -1, -1)
    assert luma_exactness(gray, same) == {"luma_exact": 1.0, "luma_max_error": 0.0}
    brighter = (same + 6 / 127.5).clamp(-1, 1)  # +6 levels, except the clipped 250
    got = luma_exactness(gray, brighter)
    assert got["luma_max_error"] == 6.0 and got["luma_exact"] == 0.0
    scores = colourisation_scores(gray, same, _picture([(255, 0, 0), (0, 0, 255)] * 2))
    assert scores["colourfulness"] == 0.0 and scores["colourfulness_ratio"] == 0.0
