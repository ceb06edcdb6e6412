"""A small residual CIFAR classifier (ResNet-style, He et al. 2016) whose penultimate features
are the offline texture judge for photos (metrics/photo_judge.py): 32 px in, 256 features out."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.models.base import PixelforgeModule, register_family


def _conv_bn(i: int, o: int) -> list[nn.Module]:
    return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.GELU()]


class _Stage(nn.Module):
    """conv -> max-pool 2 -> two convs with a skip: halves the resolution, sets the width."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.MaxPool2d(2),
                                  nn.BatchNorm2d(o), nn.GELU())
        self.res = nn.Sequential(*_conv_bn(o, o), *_conv_bn(o, o))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)  # [N, o, H/2, W/2]
        return x + self.res(x)


class JudgeClassifier(PixelforgeModule):
    """Stem conv, three residual stages (32 -> 16 -> 8 -> 4 px), global pooling, linear head."""

    def __init__(self, channels: int = 3, num_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        self.channels, self.num_classes = channels, num_classes
        self.feature_dim = 8 * width
        self.stem = nn.Sequential(*_conv_bn(channels, width))
        self.stages = nn.Sequential(_Stage(width, 2 * width), _Stage(2 * width, 4 * width),
                                    _Stage(4 * width, 8 * width))
        self.classify = nn.Linear(self.feature_dim, num_classes)
        nn.init.zeros_(self.classify.weight)  # uniform first predictions: no early loss spike

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, 32, 32] in [-1, 1] -> [N, 8 * width] globally pooled activations."""
        h = self.stages(self.stem(x))  # [N, 8w, 4, 4]
        return h.amax(dim=(2, 3)) + h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))  # [N, num_classes] logits


register_family("judge", kind="classifier", classifier=JudgeClassifier)
