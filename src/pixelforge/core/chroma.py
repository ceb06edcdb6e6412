"""Luma/chroma (full-range BT.601 YCbCr, as JPEG) for colourisers that keep the input's luma.

Luma is Y = 0.299 R + 0.587 G + 0.114 B (core.images.LUMA, Pillow's "L"); chroma is
Cb = (B - Y) / 1.772 and Cr = (R - Y) / 1.402, so in the package's [-1, 1] scale Cb and Cr
span [-1, 1] too. `recombine` rebuilds RGB from a luma and a predicted chroma, shrinking the
chroma toward 0 per pixel until the colour is in gamut, so clipping never moves the luma.

`exact_rgb` does the same on integer pixels (8- or 16-bit) with a guarantee: the BT.601 luma of
the returned RGB, rounded to the nearest integer, is the given luma exactly. R and B are rounded
first and G (weight 0.587 > 1/2) is solved for the luma and rounded, so the luma error is at most
0.587 / 2 < 1/2 of a level.
"""

from __future__ import annotations

import numpy as np
import torch

from pixelforge.core.images import LUMA

KR, KG, KB = LUMA
CR_TO_R = 2 * (1 - KR)  # 1.402: R = Y + 1.402 Cr
CB_TO_B = 2 * (1 - KB)  # 1.772: B = Y + 1.772 Cb
BAND = 1 << 20  # pixels per band in exact_rgb (a few float64 planes of 8 MB)


def rgb_to_ycbcr(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, 3, H, W] RGB in [-1, 1] -> (luma [N, 1, H, W] in [-1, 1], chroma [N, 2, H, W]: Cb, Cr
    in [-1, 1])."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    y = KR * r + KG * g + KB * b
    return y, torch.cat([(b - y) / CB_TO_B, (r - y) / CR_TO_R], dim=1)


def _offsets(cb: torch.Tensor, cr: torch.Tensor) -> torch.Tensor:
    """Chroma -> the RGB offsets from the luma it adds, [N, 3, H, W] (their luma is 0)."""
    dr, db = CR_TO_R * cr, CB_TO_B * cb
    dg = -(KR * dr + KB * db) / KG
    return torch.cat([dr, dg, db], dim=1)


def gamut_scale(luma: torch.Tensor, offsets: torch.Tensor, low: float = -1.0,
                high: float = 1.0) -> torch.Tensor:
    """The largest s in [0, 1] per pixel with luma + s * offsets inside [low, high] on every
    channel; luma [N, 1, H, W], offsets [N, 3, H, W] -> [N, 1, H, W]."""
    eps = 1e-12
    room_up = (high - luma).clamp_min(0) / offsets.clamp_min(eps)  # where the offset is > 0
    room_down = (luma - low).clamp_min(0) / (-offsets).clamp_min(eps)  # where it is < 0
    limit = torch.where(offsets > 0, room_up, torch.where(offsets < 0, room_down,
                                                         torch.full_like(offsets, 1.0)))
    return limit.amin(dim=1, keepdim=True).clamp(0, 1)


def recombine(luma: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """luma [N, 1, H, W] and chroma [N, 2, H, W] (Cb, Cr), all in [-1, 1] -> RGB [N, 3, H, W] in
    [-1, 1] whose luma is `luma` (chroma shrunk toward 0 per pixel where it leaves the gamut).
    Differentiable; the trainer feeds the result to the discriminator."""
    luma = luma.clamp(-1, 1)
    off = _offsets(chroma[:, 0:1], chroma[:, 1:2])
    return luma + gamut_scale(luma, off) * off


def exact_rgb(luma: np.ndarray, chroma: np.ndarray, bits: int) -> np.ndarray:
    """Integer luma [H, W] (0..2**bits-1) + chroma [2, H, W] (Cb, Cr in [-1, 1]) -> RGB [H, W, 3]
    of the same dtype whose rounded BT.601 luma equals `luma` exactly (module docstring)."""
    peak = float((1 << bits) - 1)
    dtype = np.uint16 if bits == 16 else np.uint8
    h, w = luma.shape
    out = np.empty((h, w, 3), dtype)
    flat_y, flat_c, flat_out = luma.reshape(-1), chroma.reshape(2, -1), out.reshape(-1, 3)
    for i in range(0, h * w, BAND):
        y = flat_y[i:i + BAND].astype(np.float64)
        cb, cr = (flat_c[k, i:i + BAND].astype(np.float64) * (peak / 2) for k in (0, 1))
        flat_out[i:i + BAND] = _exact_band(y, cb, cr, peak)
    return out


def _exact_band(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, peak: float) -> np.ndarray:
    """exact_rgb on flat float64 planes (chroma already in levels) -> [n, 3] integers."""
    off = np.stack([CR_TO_R * cr, -(KR * CR_TO_R * cr + KB * CB_TO_B * cb) / KG, CB_TO_B * cb])
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(off > 0, (peak - y) / off, np.where(off < 0, -y / off, 1.0))
    s = np.clip(limit.min(axis=0), 0.0, 1.0)
    r = np.clip(np.rint(y + s * off[0]), 0, peak)
    b = np.clip(np.rint(y + s * off[2]), 0, peak)
    g = np.clip(np.rint((y - KR * r - KB * b) / KG), 0, peak)
    return np.stack([r, g, b], axis=1)


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """Integer RGB [..., 3] -> its BT.601 luma rounded to the nearest integer (int64): the
    transform `exact_rgb` keeps, and what a colouriser's luma exactness is checked with."""
    f = rgb.astype(np.float64)
    return np.rint(KR * f[..., 0] + KG * f[..., 1] + KB * f[..., 2]).astype(np.int64)
