"""A colouriser that predicts chroma only: a pix2pix U-Net (Isola et al. 2017) from luma to the
two BT.601 chroma channels (Cb, Cr), recombined with the input's own luma (core/chroma.py), so
the luma of the output is the input's (Zhang et al. 2016 predict a/b from L the same way)."""

from __future__ import annotations

import torch

from pixelforge.core.chroma import recombine
from pixelforge.models.base import PixelforgeModule, register_family
from pixelforge.models.unet import Pix2PixDiscriminator, UNetGenerator


class ChromaUNet(PixelforgeModule):
    """luma [N, 1, H, W] in [-1, 1] -> chroma [N, 2, H, W] (Cb, Cr) in [-1, 1].

    A UNetGenerator with one input and two (tanh) outputs; `colorize` recombines the chroma with
    the luma it was given. `out_channels` is 2: pipelines that tile the network allocate that."""

    predicts = "chroma"

    def __init__(self, width: int = 32, depth: int = 7, norm: str = "batch",
                 dropout: float = 0.5, dropout_levels: int = 3) -> None:
        super().__init__()
        self.unet = UNetGenerator(in_channels=1, out_channels=2, width=width, depth=depth,
                                  norm=norm, dropout=dropout, dropout_levels=dropout_levels)
        self.in_channels, self.out_channels = 1, 2

    @property
    def stride(self) -> int:
        """Input sides must be multiples of this (the pipeline pads to it)."""
        return self.unet.stride

    @property
    def channels(self) -> int:
        """The output channels (Cb, Cr), as the exporters read them."""
        return self.out_channels

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        return self.unet(luma)  # [N, 2, H, W]

    def colorize(self, luma: torch.Tensor) -> torch.Tensor:
        """luma [N, 1, H, W] -> RGB [N, 3, H, W] with that luma (chroma fitted to the gamut)."""
        return recombine(luma, self(luma).float())


class ColorizeDiscriminator(Pix2PixDiscriminator):
    """The pix2pix PatchGAN judging (colour [N, 3], luma [N, 1]) pairs."""

    def __init__(self, width: int = 32, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__(channels=3, cond_channels=1, width=width, n_layers=n_layers, norm=norm)


register_family("colorizer", kind="colorize", generator=ChromaUNet,
                discriminator=ColorizeDiscriminator)
