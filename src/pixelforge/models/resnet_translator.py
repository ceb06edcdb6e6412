"""CycleGAN ResNet generator (Zhu et al., 2017; after Johnson et al., 2016): reflect-padded,
instance-normed, two stride-2 downsamplings, n residual blocks, two upsamplings."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.errors import UserError
from pixelforge.models.base import PixelforgeModule, register_family
from pixelforge.models.patchgan import PatchGAN
from pixelforge.models.unet import NORMS, check_size, norm_layer

UPSAMPLERS = ("deconv", "resize")


class ResidualBlock(nn.Module):
    """x + [reflect pad, 3x3 conv, norm, ReLU, reflect pad, 3x3 conv, norm](x)."""

    def __init__(self, channels: int, norm: str, dropout: float = 0.0) -> None:
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.ReflectionPad2d(1),
                                   nn.Conv2d(channels, channels, 3, bias=bias),
                                   *norm_layer(norm, channels), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                   *norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetTranslator(PixelforgeModule):
    """image [N, in_channels, H, W] in [-1, 1] -> image [N, out_channels, H, W] in [-1, 1].

    c7s1-w, d2w, d4w, `n_blocks` x R4w, u2w, uw, c7s1-out (the paper's notation): 9 blocks at
    256 px, 6 at 128 px. H and W must be multiples of 4 (the pipeline pads). InstanceNorm without
    affine parameters by default, as published. upsample "deconv" is the paper's transposed
    convolution; "resize" (nearest x2 then a 3x3 conv, Odena et al. 2016) avoids its
    checkerboard artefacts at the same cost.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 64,
                 n_blocks: int = 9, norm: str = "instance", upsample: str = "deconv",
                 dropout: float = 0.0) -> None:
        super().__init__()
        if norm not in NORMS:
            raise UserError(f"model.params.norm: {norm!r}; allowed: {', '.join(NORMS)}")
        if upsample not in UPSAMPLERS:
            raise UserError(f"model.params.upsample: {upsample!r}; allowed: "
                            f"{', '.join(UPSAMPLERS)}")
        if n_blocks < 0:
            raise UserError(f"model.params.n_blocks: {n_blocks}; must be >= 0")
        self.in_channels, self.out_channels = in_channels, out_channels
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3),
                                   nn.Conv2d(in_channels, width, 7, bias=bias),
                                   *norm_layer(norm, width), nn.ReLU(True)]
        c = width
        for _ in range(2):  # [N, c, H, W] -> [N, 2c, H/2, W/2]
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), *norm_layer(norm, 2 * c),
                       nn.ReLU(True)]
            c *= 2
        layers += [ResidualBlock(c, norm, dropout) for _ in range(n_blocks)]
        for _ in range(2):  # [N, c, h, w] -> [N, c/2, 2h, 2w]
            if upsample == "deconv":
                layers.append(nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias))
            else:
                layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                           nn.Conv2d(c, c // 2, 3, 1, 1, bias=bias)]
            layers += [*norm_layer(norm, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    @property
    def stride(self) -> int:
        return 4

    @property
    def min_size(self) -> int:
        """Smallest side worth running: InstanceNorm needs more than one pixel after /4."""
        return 8

    @property
    def channels(self) -> int:
        return self.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_size(x, self.stride, "this ResNet translator")
        return self.net(x)  # [N, out_channels, H, W]


# One class per role: register_family stamps family and role on each class, so two roles must not
# share one (a saved generator_ba must say "generator_ba" in its config.json).
class CycleGANGeneratorAB(ResnetTranslator):
    """CycleGAN's A -> B generator."""


class CycleGANGeneratorBA(ResnetTranslator):
    """CycleGAN's B -> A generator."""


class CycleGANDiscriminatorA(PatchGAN):
    """70x70 PatchGAN telling real A images from translated ones (InstanceNorm, unconditional)."""

    def __init__(self, channels: int = 3, width: int = 64, n_layers: int = 3,
                 norm: str = "instance") -> None:
        super().__init__(channels=channels, cond_channels=0, width=width, n_layers=n_layers,
                         norm=norm)


class CycleGANDiscriminatorB(CycleGANDiscriminatorA):
    """70x70 PatchGAN telling real B images from translated ones."""


register_family("cyclegan", kind="translation", generator_ab=CycleGANGeneratorAB,
                generator_ba=CycleGANGeneratorBA, discriminator_a=CycleGANDiscriminatorA,
                discriminator_b=CycleGANDiscriminatorB)
