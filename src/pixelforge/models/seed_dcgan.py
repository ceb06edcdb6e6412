"""The seed document's DCGAN: an MLP stem into three stride-2 transposed convolutions."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.errors import UserError
from pixelforge.models.base import Generator, PixelforgeModule, register_family
from pixelforge.nn.gemm import Conv2d, ConvTranspose2d, run_sequential  # CPU fast-path layers


def _base_size(image_size: int) -> int:
    if image_size % 8:
        raise UserError(f"model.image_size: seed-dcgan needs a multiple of 8 (got {image_size})")
    return image_size // 8


class SeedDCGANGenerator(Generator):
    """Dense 128 -> 128 -> 1024 -> (S/8)^2*256, then ConvTranspose 128 -> 64 -> C (k4, s2), tanh."""

    def __init__(self, image_size: int = 56, channels: int = 1, latent_dim: int = 128) -> None:
        super().__init__()
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.base = _base_size(image_size)

        def dense(i: int, o: int) -> list[nn.Module]:
            return [nn.Linear(i, o, bias=False), nn.BatchNorm1d(o), nn.LeakyReLU(0.2, inplace=True)]

        def up(i: int, o: int) -> list[nn.Module]:
            return [ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o),
                    nn.LeakyReLU(0.2, inplace=True)]

        self.stem = nn.Sequential(*dense(latent_dim, 128), *dense(128, 1024),
                                  *dense(1024, self.base * self.base * 256))
        self.body = nn.Sequential(*up(256, 128), *up(128, 64),
                                  ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = run_sequential(self.stem, z).view(-1, 256, self.base, self.base)  # [N, 256, S/8, S/8]
        if not self.body[0].weight.is_contiguous():  # channels_last body: hand it that layout
            h = h.contiguous(memory_format=torch.channels_last)
        return run_sequential(self.body, h)  # [N, C, S, S]


class SeedDCGANDiscriminator(PixelforgeModule):
    """Conv 64/128/256 (k4, s2) with LeakyReLU, flatten, one logit."""

    def __init__(self, image_size: int = 56, channels: int = 1) -> None:
        super().__init__()
        base = _base_size(image_size)
        layers: list[nn.Module] = []
        for i, o in ((channels, 64), (64, 128), (128, 256)):
            layers += [Conv2d(i, o, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(256 * base * base, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1)).squeeze(1)  # [N] logits


register_family("seed-dcgan", kind="gan",
                generator=SeedDCGANGenerator, discriminator=SeedDCGANDiscriminator)
