"""pix2pix U-Net generator (Isola et al., 2017): encoder-decoder with skips, dropout as noise."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.errors import UserError
from pixelforge.models.base import PixelforgeModule, register_family
from pixelforge.models.patchgan import PatchGAN

NORMS = ("batch", "instance", "none")


def norm_layer(kind: str, channels: int) -> list[nn.Module]:
    """The feature norm of a translation network as a (possibly empty) list of layers."""
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    if kind == "instance":
        return [nn.InstanceNorm2d(channels)]
    return []


def check_size(x: torch.Tensor, stride: int, name: str) -> None:
    """ValueError unless both sides of x are multiples of the network's stride."""
    h, w = x.shape[-2:]
    if h % stride or w % stride:
        raise ValueError(f"{name} needs sides that are multiples of {stride}, got {h}x{w}; "
                         "the translate pipeline pads (reflect) and crops back for you")


class UNetLevel(nn.Module):
    """One level of the U: down conv, the inner levels, up conv; the input is concatenated with
    the level's output (the skip), except at the outermost level which returns the image."""

    def __init__(self, outer: int, inner: int, *, sub: nn.Module | None, in_channels: int,
                 out_channels: int, outermost: bool, norm: str, dropout: float) -> None:
        super().__init__()
        innermost = sub is None
        normed = not (outermost or innermost)  # no norm on the first layer nor the bottleneck
        # not in place: x is also the skip, which carries the features before the activation
        down: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2)]
        down.append(nn.Conv2d(in_channels, inner, 4, 2, 1, bias=not (normed and norm == "batch")))
        if normed:
            down += norm_layer(norm, inner)
        up_in = inner if innermost else 2 * inner  # the inner level hands back [x, y]
        up: list[nn.Module] = [nn.ReLU(True)]
        if outermost:
            up += [nn.ConvTranspose2d(up_in, out_channels, 4, 2, 1), nn.Tanh()]
        else:
            up += [nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=norm != "batch"),
                   *norm_layer(norm, outer)]
            if dropout > 0:
                up.append(nn.Dropout(dropout))
        self.down, self.sub, self.up = nn.Sequential(*down), sub, nn.Sequential(*up)
        self.outermost = outermost

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(x)  # [N, inner, H/2, W/2]
        if self.sub is not None:
            y = self.sub(y)  # [N, 2 * inner, H/2, W/2]
        y = self.up(y)  # [N, outer, H, W]
        return y if self.outermost else torch.cat([x, y], dim=1)  # [N, 2 * outer, H, W]


class UNetGenerator(PixelforgeModule):
    """image [N, in_channels, H, W] in [-1, 1] -> image [N, out_channels, H, W] in [-1, 1].

    `depth` stride-2 levels (H and W multiples of 2**depth; 8 = the paper's unet_256, 7 for 128
    px); widths double from `width` up to 8x. Dropout (p = `dropout`) on the `dropout_levels`
    innermost decoder levels is pix2pix's only noise source; it is off in eval mode, so inference
    is deterministic unless asked (TranslatePipeline noise=True). BatchNorm by default, as
    published; its running statistics are used at inference, so tiles and batches agree.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 64,
                 depth: int = 7, norm: str = "batch", dropout: float = 0.5,
                 dropout_levels: int = 3) -> None:
        super().__init__()
        if norm not in NORMS:
            raise UserError(f"model.params.norm: {norm!r}; allowed: {', '.join(NORMS)}")
        if not 2 <= depth <= 10:
            raise UserError(f"model.params.depth: {depth}; use 2..10 stride-2 levels")
        if not 0 <= dropout < 1:
            raise UserError(f"model.params.dropout: {dropout}; must be in [0, 1)")
        self.in_channels, self.out_channels, self.depth = in_channels, out_channels, depth
        widths = [width * min(2 ** i, 8) for i in range(depth)]  # 64, 128, 256, 512, 512, ...
        level: nn.Module | None = None
        for i in reversed(range(1, depth)):  # innermost first
            drop = dropout if depth - 1 - dropout_levels <= i < depth - 1 else 0.0
            level = UNetLevel(widths[i - 1], widths[i], sub=level, in_channels=widths[i - 1],
                              out_channels=0, outermost=False, norm=norm, dropout=drop)
        self.net = UNetLevel(out_channels, widths[0], sub=level, in_channels=in_channels,
                             out_channels=out_channels, outermost=True, norm=norm, dropout=0.0)

    @property
    def stride(self) -> int:
        """Input sides must be multiples of this (the pipeline pads to it)."""
        return 2 ** self.depth

    @property
    def channels(self) -> int:
        return self.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_size(x, self.stride, "this U-Net")
        return self.net(x)  # [N, out_channels, H, W]


class Pix2PixDiscriminator(PatchGAN):
    """The 70x70 PatchGAN judging (output, input) pairs: BatchNorm, conditioned on the input."""

    def __init__(self, channels: int = 3, cond_channels: int = 3, width: int = 64,
                 n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__(channels=channels, cond_channels=cond_channels, width=width,
                         n_layers=n_layers, norm=norm)


register_family("pix2pix", kind="translation", generator=UNetGenerator,
                discriminator=Pix2PixDiscriminator)
