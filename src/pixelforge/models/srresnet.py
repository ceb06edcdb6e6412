"""SRResNet/EDSR-style upscaler (Ledig et al., 2017; Lim et al., 2017): residual blocks + sub-pixel conv."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.models.base import PixelforgeModule, register_family

SCALES = (2, 3, 4)


class ResBlock(nn.Module):
    """conv-ReLU-conv with a scaled identity skip and no batch norm (as EDSR)."""

    def __init__(self, width: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(True),
                                  nn.Conv2d(width, width, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


class SRResNet(PixelforgeModule):
    """LR [N, C, h, w] in [-1, 1] -> HR [N, C, scale*h, scale*w]; any h, w.

    The network learns the residual over a bicubic upscale of its input, which makes short CPU
    training budgets converge fast; 6 blocks x 48 channels keep the receptive field (16 LR px)
    within the default tile padding.
    """

    def __init__(self, channels: int = 3, scale: int = 4, n_blocks: int = 6, width: int = 48,
                 res_scale: float = 0.2) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale}")
        self.channels, self.scale, self.n_blocks = channels, scale, n_blocks
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(width, res_scale) for _ in range(n_blocks)],
                                  nn.Conv2d(width, width, 3, padding=1))
        stages = [2, 2] if scale == 4 else [scale]
        up: list[nn.Module] = []
        for s in stages:  # sub-pixel convolution: conv to s^2 x width channels, then shuffle
            up += [nn.Conv2d(width, width * s * s, 3, padding=1), nn.PixelShuffle(s), nn.ReLU(True)]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(width, channels, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as plain bicubic
        nn.init.zeros_(self.tail.bias)

    @property
    def receptive_radius(self) -> int:
        """LR pixels of context per side: head, 2 per block, body end, upsampler convs, tail."""
        r = 2.0 + 2 * self.n_blocks  # head + blocks + body end, all at LR
        r += 1.0 + (0.5 if self.scale == 4 else 0.0)  # first upsampler conv at LR, second at 2x
        r += 1.0 / self.scale  # tail at HR (the parallel bicubic skip only needs 2 LR px)
        return math.ceil(r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        base = F.interpolate(x, size=(h * self.scale, w * self.scale), mode="bicubic",
                             align_corners=False)  # [N, C, sH, sW]
        feat = self.head(x)
        feat = feat + self.body(feat)  # global skip
        return base + self.tail(self.up(feat))  # [N, C, sH, sW]


register_family("srresnet", kind="upscale", upscaler=SRResNet)
