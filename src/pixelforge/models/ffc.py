"""Fast Fourier Convolution blocks (after Chi et al. 2020 and LaMa, Suvorov et al. 2022): a local
3x3-conv branch beside a global branch that mixes every pixel with every other in one step, by a
1x1 conv on the real/imaginary spectrum of a 2-D FFT over H, W. One block sees the whole image.

The FFT runs in fp32 under any autocast (bf16 has too few mantissa bits for a sum over every
pixel, and torch.fft refuses bf16). While exporting to ONNX, whose TorchScript exporter has no
rfft2/irfft2, the same transform is computed as matrix products with DFT matrices built from the
traced H and W (`dft_rfft2` / `dft_irfft2`), so the export keeps dynamic sizes and matches.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _angles(n: torch.Tensor | int, m: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
    """2 pi k j / n for k < m, j < n: [m, n] in fp32 (n, m may be traced sizes)."""
    k = torch.arange(m, device=like.device, dtype=torch.float32)
    j = torch.arange(n, device=like.device, dtype=torch.float32)
    return k[:, None] * j[None, :] * (2 * math.pi) / (j.shape[0])


def dft_rfft2(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(real, imag) of torch.fft.rfft2(x, norm="ortho") for real x [..., H, W], by matmuls."""
    h, w = x.shape[-2], x.shape[-1]
    aw = _angles(w, w // 2 + 1, x)  # [W/2+1, W]
    ah = _angles(h, h, x)  # [H, H]
    scale = 1.0 / torch.sqrt(torch.tensor(float(1), device=x.device) * h * w)
    # along W (real input): X[k] = sum_j x[j] (cos - i sin)
    re = x @ torch.cos(aw).t()
    im = -(x @ torch.sin(aw).t())  # [..., H, W/2+1]
    ch, sh = torch.cos(ah), torch.sin(ah)
    # along H (complex input): (re + i im)(cos - i sin)
    re2 = ch @ re + sh @ im
    im2 = ch @ im - sh @ re
    return re2 * scale, im2 * scale


def dft_irfft2(re: torch.Tensor, im: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """torch.fft.irfft2(re + i im, s=(h, w), norm="ortho") by matmuls (Hermitian half-spectrum)."""
    ah = _angles(h, h, re)  # [H, H], symmetric
    ch, sh = torch.cos(ah), torch.sin(ah)
    # inverse along H: (re + i im)(cos + i sin)
    re1 = ch @ re - sh @ im
    im1 = ch @ im + sh @ re
    # inverse along W from the half spectrum: bins 1..ceil(W/2)-1 count twice, and the imaginary
    # part of bins 0 and W/2 (even W) is ignored, as irfft does
    half = re.shape[-1]
    k = torch.arange(half, device=re.device, dtype=torch.float32)
    wt = torch.where((k == 0) | (k * 2 == w), torch.ones_like(k), 2 * torch.ones_like(k))
    aw = _angles(w, half, re)  # [W/2+1, W]
    out = (re1 * wt) @ torch.cos(aw) - (im1 * wt) @ torch.sin(aw)
    return out / torch.sqrt(torch.tensor(float(1), device=re.device) * h * w)


class FourierUnit(nn.Module):
    """rfft2 over H, W -> 1x1 conv (+ GELU) on the [real, imag] channels -> irfft2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, 2 * channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype, (h, w) = x.dtype, x.shape[-2:]
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            if torch.onnx.is_in_onnx_export():
                re, im = dft_rfft2(x)
            else:
                spec = torch.fft.rfft2(x, norm="ortho")
                re, im = spec.real, spec.imag
            y = F.gelu(self.conv(torch.cat([re, im], dim=1).to(self.conv.weight.dtype)).float())
            re, im = y.chunk(2, dim=1)
            if torch.onnx.is_in_onnx_export():
                out = dft_irfft2(re, im, h, w)
            else:
                out = torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho")
        return out.to(dtype)


class SpectralTransform(nn.Module):
    """The global->global path: 1x1 conv to half width, x + FourierUnit(x), 1x1 conv back."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        mid = max(1, cout // 2)
        self.reduce = nn.Conv2d(cin, mid, 1)
        self.fu = FourierUnit(mid)
        self.expand = nn.Conv2d(mid, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.reduce(x))
        return self.expand(x + self.fu(x))


class FFC(nn.Module):
    """One Fourier convolution on (local, global) channel groups: local out = conv(l) + conv(g),
    global out = conv(l) + SpectralTransform(g); `ratio` of the channels are global (0: a plain
    conv, the image-wide receptive field gone)."""

    def __init__(self, channels: int, ratio: float = 0.75) -> None:
        super().__init__()
        self.cg = int(round(channels * ratio))
        self.cl = channels - self.cg
        cl, cg = self.cl, self.cg

        def conv(i: int, o: int) -> nn.Conv2d | None:
            return nn.Conv2d(i, o, 3, padding=1, padding_mode="reflect") if i and o else None

        self.l2l, self.g2l, self.l2g = conv(cl, cl), conv(cg, cl), conv(cl, cg)
        self.g2g = SpectralTransform(cg, cg) if cg else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xl, xg = x[:, : self.cl], x[:, self.cl:]
        parts = []
        if self.cl:
            parts.append(self.l2l(xl) + (self.g2l(xg) if self.g2l is not None else 0))
        if self.cg:
            parts.append(self.g2g(xg) + (self.l2g(xl) if self.l2g is not None else 0))
        return torch.cat(parts, dim=1)


class FFCBlock(nn.Module):
    """Residual block of two FFCs with GELU: x + FFC(GELU(FFC(x))) (LaMa's FFCResnetBlock without
    batch norm, which small CPU batches and the EMA copy handle poorly)."""

    def __init__(self, channels: int, ratio: float = 0.75) -> None:
        super().__init__()
        self.ffc1, self.ffc2 = FFC(channels, ratio), FFC(channels, ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.ffc2(F.gelu(self.ffc1(x)))
