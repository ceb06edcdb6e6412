"""A fixed perceptual feature network: oriented Gabor energy of the luma at three octaves (a model
of V1 complex cells), for the photo upscaler's perceptual loss.

Why not the `cnn` extractor or the photo judge: those networks score FD in the benchmarks, and a
loss in the judge's own features lets training lower the FD without the picture improving
(the metric stops being independent). This bank shares nothing with them, needs no training and
no download, and is phase-insensitive: it rewards texture of the right orientation and energy at
each scale, which an L1 loss averages away, without asking for each pixel's exact position.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ORIENTATIONS = 4  # 0, 45, 90, 135 degrees
WAVELENGTHS = (3.0, 5.0)  # pixels, at each octave
OCTAVES = 3  # native, 1/2, 1/4
LUMA = (0.299, 0.587, 0.114)  # BT.601


def gabor_pair(wavelength: float, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Even (cosine, zero-mean) and odd (sine) Gabor kernels of about one octave bandwidth, each
    of unit L2 norm (a quadrature pair: their energy does not depend on the phase)."""
    sigma = 0.56 * wavelength
    r = math.ceil(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    u = xx * math.cos(theta) + yy * math.sin(theta)
    env = torch.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))
    even = env * torch.cos(2 * math.pi * u / wavelength)
    even = even - env * (even.sum() / env.sum())  # no response to flat areas
    odd = env * torch.sin(2 * math.pi * u / wavelength)
    return (even / even.norm()).float(), (odd / odd.norm()).float()  # unit gain each


class GaborEnergy(nn.Module):
    """Images [N, C, H, W] in [-1, 1] -> one energy map per octave, [N, 2 x 4, h, w] each
    (wavelengths x orientations), sqrt(even^2 + odd^2). Fixed weights (buffers), never trained."""

    def __init__(self) -> None:
        super().__init__()
        banks = []
        for lam in WAVELENGTHS:
            pairs = [gabor_pair(lam, k * math.pi / ORIENTATIONS) for k in range(ORIENTATIONS)]
            size = max(p[0].shape[-1] for p in pairs)
            banks.append((size, pairs))
        size = max(s for s, _ in banks)
        weights = []
        for _, pairs in banks:
            for even, odd in pairs:
                for k in (even, odd):
                    pad = (size - k.shape[-1]) // 2
                    weights.append(F.pad(k, (pad, pad, pad, pad)))
        self.register_buffer("weight", torch.stack(weights)[:, None], persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        y = x.float()
        if y.shape[1] == 3:
            y = sum(c * y[:, i:i + 1] for i, c in enumerate(LUMA))
        else:
            y = y.mean(1, keepdim=True)
        pad = self.weight.shape[-1] // 2
        maps = []
        for octave in range(OCTAVES):
            if octave:
                y = F.avg_pool2d(y, 2)
            r = F.conv2d(F.pad(y, (pad, pad, pad, pad), mode="replicate"), self.weight)
            r = r.view(r.shape[0], -1, 2, *r.shape[-2:])  # pairs (even, odd)
            maps.append(torch.sqrt(r.pow(2).sum(2) + 1e-8))
        return maps
