"""DnCNN-style residual denoiser (Zhang et al., 2017): plain conv + ReLU layers that predict the noise."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.models.base import PixelforgeModule, register_family


class DnCNN(PixelforgeModule):
    """x_noisy [N, C, H, W] in [-1, 1] -> x_noisy - predicted noise; any H, W (stride 1, zero pad).

    Sized for the CPU: 10 conv layers x 48 channels (about 190k parameters) instead of the paper's
    17 x 64; no batch norm, so a batch of one behaves exactly like a batch of many.
    """

    def __init__(self, channels: int = 3, depth: int = 10, width: int = 48) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError("DnCNN needs depth >= 2")
        self.channels, self.depth, self.width = channels, depth, width
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(True)]
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        nn.init.zeros_(self.body[-1].weight)  # start as the identity map (predicted noise 0)
        nn.init.zeros_(self.body[-1].bias)

    @property
    def receptive_radius(self) -> int:
        """Pixels of context each output pixel sees on each side (one per 3x3 conv)."""
        return self.depth

    @property
    def scale(self) -> int:
        return 1

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """The predicted noise [N, C, H, W] (residual learning target: noisy - clean)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)  # [N, C, H, W]


register_family("dncnn", kind="denoise", denoiser=DnCNN)
