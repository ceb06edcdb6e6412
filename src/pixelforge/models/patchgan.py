"""70x70 PatchGAN discriminator (Isola et al., 2017): one real/fake logit per overlapping patch."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.errors import UserError
from pixelforge.models.base import PixelforgeModule, register_family

MIN_SIZE = 32  # smaller inputs leave no patch logits


class PatchGAN(PixelforgeModule):
    """image [N, C, H, W] (+ optional condition [N, cond_channels, H, W]) -> logits [N, 1, h, w].

    With the defaults (3 stride-2 layers of 4x4 convs, then two stride-1 ones) each logit sees a
    70x70 patch. cond_channels > 0 concatenates the condition (pix2pix input, or a mask) first.
    norm: "instance" (CycleGAN), "batch" (pix2pix), "spectral" (spectral norm, no feature norm) or
    "none".
    """

    def __init__(self, channels: int = 3, cond_channels: int = 0, width: int = 64,
                 n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        if norm not in ("instance", "batch", "spectral", "none"):
            raise UserError(f"model.norm: {norm!r}; allowed: instance, batch, spectral, none")
        self.channels, self.cond_channels = channels, cond_channels

        def conv(cin: int, cout: int, stride: int) -> nn.Module:
            c = nn.Conv2d(cin, cout, 4, stride, padding=1, bias=norm in ("none", "spectral"))
            return nn.utils.parametrizations.spectral_norm(c) if norm == "spectral" else c

        def normed(c: int) -> list[nn.Module]:
            if norm == "instance":
                return [nn.InstanceNorm2d(c, affine=True)]
            return [nn.BatchNorm2d(c)] if norm == "batch" else []

        layers: list[nn.Module] = [conv(channels + cond_channels, width, 2), nn.LeakyReLU(0.2, True)]
        c = width
        for i in range(1, n_layers + 1):
            nxt = width * min(2 ** i, 8)
            layers += [conv(c, nxt, 2 if i < n_layers else 1), *normed(nxt), nn.LeakyReLU(0.2, True)]
            c = nxt
        last = nn.Conv2d(c, 1, 4, 1, padding=1)
        layers.append(nn.utils.parametrizations.spectral_norm(last) if norm == "spectral" else last)
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if min(image.shape[-2:]) < MIN_SIZE:
            raise UserError(f"PatchGAN needs images of at least {MIN_SIZE} px, got "
                            f"{tuple(image.shape[-2:])}")
        if self.cond_channels:
            if cond is None:
                raise ValueError("this PatchGAN is conditional: pass cond")
            image = torch.cat([image, cond], dim=1)  # [N, C + cond, H, W]
        return self.net(image)  # [N, 1, h, w]


register_family("patchgan", kind="discriminator", discriminator=PatchGAN)
