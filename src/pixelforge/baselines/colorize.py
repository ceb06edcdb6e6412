"""Classical colourisation baselines the pix2pix colouriser is measured against.

- `LumaChromaLookup`: the mean chroma (Cb, Cr) of the training photos at each luma level, read
  back for every pixel of a grayscale image (a global, context-free version of Welsh et al.
  2002's luminance matching). It is the best per-pixel guess from luma alone in squared error.
- `reinhard_transfer`: Reinhard et al. (2001) colour transfer: match each Lab channel's mean and
  standard deviation to a reference's. On a grayscale input (no chroma spread to scale) it shifts
  the chroma to the reference's mean: one global tint.

Images are [N, C, H, W] in [-1, 1] (gray inputs: C = 1, or RGB with equal channels); luma is
BT.601 as in pipelines/translate.py, so both baselines see what the network sees, and keep the
input's luma exactly (YCbCr) or its Lab lightness (Reinhard).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pixelforge.core.images import to_gray

KR, KB = 0.299, 0.114  # BT.601 (full range, as JPEG/JFIF)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] RGB in [0, 1] -> [N, 3, H, W] (Y, Cb, Cr) in [0, 1] (chroma centred at 0.5)."""
    r, g, b = x.unbind(1)
    y = KR * r + (1 - KR - KB) * g + KB * b
    cb = 0.5 + (b - y) / (2 * (1 - KB))
    cr = 0.5 + (r - y) / (2 * (1 - KR))
    return torch.stack([y, cb, cr], dim=1)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of rgb_to_ycbcr (not clamped)."""
    y, cb, cr = x.unbind(1)
    r = y + 2 * (1 - KR) * (cr - 0.5)
    b = y + 2 * (1 - KB) * (cb - 0.5)
    g = (y - KR * r - KB * b) / (1 - KR - KB)
    return torch.stack([r, g, b], dim=1)


def _unit_gray(x: torch.Tensor) -> torch.Tensor:
    """[N, 1 or 3, H, W] in [-1, 1] -> luma [N, 1, H, W] in [0, 1]."""
    return (to_gray(x.float()) + 1) / 2


@dataclass
class LumaChromaLookup:
    """Mean (Cb, Cr) per luma bin, `table` [bins, 2] in [0, 1]; `count` [bins] pixels per bin."""

    table: torch.Tensor
    count: torch.Tensor

    @classmethod
    def fit(cls, images: torch.Tensor, bins: int = 64) -> LumaChromaLookup:
        """Fit on colour images [N, 3, H, W] in [-1, 1]. Empty bins take the nearest fitted
        bins' values (linear between them), so every luma has a chroma."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"fit needs RGB images [N, 3, H, W], got {tuple(images.shape)}")
        ycc = rgb_to_ycbcr((images.double().clamp(-1, 1) + 1) / 2)
        idx = (ycc[:, 0] * bins).long().clamp_(0, bins - 1).flatten()
        count = torch.bincount(idx, minlength=bins).double()
        sums = torch.stack([torch.bincount(idx, weights=ycc[:, c].flatten(), minlength=bins)
                            for c in (1, 2)], dim=1)
        filled = count > 0
        if not bool(filled.any()):
            raise ValueError("no pixels to fit")
        table = torch.full((bins, 2), 0.5, dtype=torch.float64)
        table[filled] = sums[filled] / count[filled, None]
        centres = (torch.arange(bins, dtype=torch.float64) + 0.5) / bins
        for c in range(2):  # fill empty bins by interpolating between fitted ones
            table[:, c] = torch.from_numpy(np.interp(centres.numpy(), centres[filled].numpy(),
                                                     table[filled, c].numpy()))
        return cls(table=table.float(), count=count)

    @property
    def bins(self) -> int:
        return int(self.table.shape[0])

    def colorize(self, gray: torch.Tensor) -> torch.Tensor:
        """Gray [N, 1 or 3, H, W] in [-1, 1] -> RGB [N, 3, H, W] in [-1, 1], same luma; chroma
        linearly interpolated between bin centres."""
        y = _unit_gray(gray)[:, 0]  # [N, H, W]
        pos = (y * self.bins - 0.5).clamp(0, self.bins - 1)
        lo = pos.floor().long()
        hi = (lo + 1).clamp_max(self.bins - 1)
        frac = (pos - lo.float()).unsqueeze(1)  # [N, 1, H, W]
        chroma = self.table[lo].permute(0, 3, 1, 2) * (1 - frac) + \
            self.table[hi].permute(0, 3, 1, 2) * frac  # [N, 2, H, W]
        rgb = ycbcr_to_rgb(torch.cat([y.unsqueeze(1), chroma], dim=1))
        return (rgb.clamp(0, 1) * 2 - 1).float()


def _lab(x: torch.Tensor) -> np.ndarray:
    """[N, 3, H, W] in [-1, 1] -> float32 CIE Lab [N, H, W, 3] (OpenCV, D65, L in 0..100)."""
    import cv2

    rgb = ((x.detach().float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    return np.stack([cv2.cvtColor(np.ascontiguousarray(im), cv2.COLOR_RGB2Lab) for im in rgb])


def _from_lab(lab: np.ndarray) -> torch.Tensor:
    import cv2

    rgb = np.stack([cv2.cvtColor(np.ascontiguousarray(im, dtype=np.float32), cv2.COLOR_Lab2RGB)
                    for im in lab])
    return torch.from_numpy(rgb).permute(0, 3, 1, 2).clamp(0, 1) * 2 - 1


def lab_statistics(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(mean [3], std [3]) of the Lab channels over all pixels of [N, 3, H, W] in [-1, 1]."""
    lab = _lab(images).reshape(-1, 3).astype(np.float64)
    return lab.mean(axis=0), lab.std(axis=0)


def reinhard_transfer(x: torch.Tensor, reference: tuple[np.ndarray, np.ndarray], *,
                      keep_lightness: bool = True) -> torch.Tensor:
    """Reinhard et al. (2001) in CIE Lab: each image's channels shifted and scaled to the
    reference (mean, std) (e.g. lab_statistics of the training photos). Channels with no spread
    (a gray input's chroma) only move to the reference mean. keep_lightness leaves L alone (what
    colourisation wants; the paper transfers all three). [N, 1 or 3, H, W] -> [N, 3, H, W]."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean_r, std_r = (np.asarray(v, np.float64) for v in reference)
    first = 1 if keep_lightness else 0
    out = []
    for lab in _lab(x).astype(np.float64):  # [H, W, 3]
        mean, std = lab.reshape(-1, 3).mean(axis=0), lab.reshape(-1, 3).std(axis=0)
        scale = np.where(std > 1e-6, std_r / np.maximum(std, 1e-6), 0.0)
        lab[..., first:] = (lab[..., first:] - mean[first:]) * scale[first:] + mean_r[first:]
        out.append(lab)
    return _from_lab(np.stack(out)).float()
