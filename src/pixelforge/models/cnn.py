"""A small VGG-style CNN classifier (conv, max-pool, dense head); doubles as the metric extractor."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.models.base import PixelforgeModule, register_family


class CNNClassifier(PixelforgeModule):
    """Two conv blocks with max-pooling, a dense feature layer, and a linear classifier."""

    def __init__(self, channels: int = 1, num_classes: int = 10, width: int = 32,
                 feature_dim: int = 256) -> None:
        super().__init__()
        self.channels, self.num_classes, self.feature_dim = channels, num_classes, feature_dim

        def block(i: int, o: int) -> list[nn.Module]:
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True),
                    nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True),
                    nn.MaxPool2d(2)]

        self.convs = nn.Sequential(*block(channels, width), *block(width, 2 * width),
                                   nn.AdaptiveAvgPool2d(4))
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 16, feature_dim),
                                   nn.ReLU(True))
        self.classify = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] in [-1, 1] -> [N, feature_dim] penultimate activations."""
        return self.embed(self.convs(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))  # [N, num_classes] logits


register_family("cnn", kind="classifier", classifier=CNNClassifier)
