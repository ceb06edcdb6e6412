"""A frozen conv net with seeded random weights, for a feature (perceptual) loss that no
benchmark judge shares: training against a judge's own features would game the FD it reports
(both the `cnn` extractor and the photo judge score restoration). Random conv features still
carry local texture statistics (edges, oriented frequencies; He et al. 2016, "A powerful
generative model using random weights for the deep image representation")."""

from __future__ import annotations

import torch
from torch import nn

SEED = 20  # fixed: the loss is the same network in every run and every session


class RandomFeatures(nn.Module):
    """3 -> 32 -> 64 -> 128 channels, 3x3 convs (the last two stride 2) with ReLU, weights drawn
    once from He-normal with SEED; `features` is what FeatureLoss compares."""

    def __init__(self, channels: int = 3, seed: int = SEED) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU())
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for m in self.features:
                if isinstance(m, nn.Conv2d):
                    fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                    m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2 / fan_in) ** 0.5)
                    m.bias.zero_()
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
