"""U-Net with gated convolutions for inpainting (gating after Yu et al., DeepFill v2, 2019)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.models.base import PixelforgeModule, register_family


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right to a multiple of `multiple` (reflect; replicate when the image is too small)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not ph and not pw:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def push_pull_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A smooth guess for the hole (mask 1): the known pixels averaged over a pyramid of 2x2
    cells, each level filling what the finer one lacks (push-pull, Gortler et al. 1996)."""
    num = image * (1 - mask)
    den = (1 - mask).expand_as(image[:, :1])  # fraction of known pixels per cell
    levels = []
    while min(num.shape[-2:]) > 1:
        levels.append((num, den))
        num, den = F.avg_pool2d(num, 2, ceil_mode=True), F.avg_pool2d(den, 2, ceil_mode=True)
    est = num / den.clamp_min(1e-6)
    for num, den in reversed(levels):
        up = F.interpolate(est, size=num.shape[-2:], mode="bilinear", align_corners=False)
        est = num / den.clamp_min(1e-6) * den + up * (1 - den)
    return est


class GatedConv(nn.Module):
    """out = ELU(conv_f(x)) * sigmoid(conv_g(x)): the gate learns where features are valid."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride, padding=dilation * (k - 1) // 2,
                              dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, g = self.conv(x).chunk(2, dim=1)
        return F.elu(f) * torch.sigmoid(g)


class InpaintUNet(PixelforgeModule):
    """(image [N, C, H, W] in [-1, 1], mask [N, 1, H, W], 1 = hole) -> image with the hole filled.

    The network sees the image with holes zeroed plus the mask; its output is pasted into the hole
    only, so known pixels pass through exactly. Encoder of `levels` stride-2 gated convs, a dilated
    bottleneck for context, nearest-upsampling decoder with skips; any H, W (padded to 2^levels).
    Defaults: 1.2M parameters (4.9 MB in fp32). fill="pushpull" puts a push-pull fill in the hole
    instead of zeros and learns a correction to it (starting as that fill), which trains much
    faster on a CPU budget; fill="zero" predicts the hole from scratch.
    """

    def __init__(self, channels: int = 3, width: int = 20, levels: int = 4,
                 dilations: tuple[int, ...] = (2, 4, 8), fill: str = "zero") -> None:
        super().__init__()
        if fill not in ("zero", "pushpull"):
            raise ValueError(f"fill must be 'zero' or 'pushpull', got {fill!r}")
        self.channels, self.levels, self.fill = channels, levels, fill
        widths = [width * min(2 ** i, 4) for i in range(levels + 1)]  # e.g. 20, 40, 80, 80, 80
        self.stem = GatedConv(channels + 1, widths[0], k=5)
        self.down = nn.ModuleList(GatedConv(widths[i], widths[i + 1], stride=2)
                                  for i in range(levels))
        self.mid = nn.Sequential(*[GatedConv(widths[-1], widths[-1], dilation=d)
                                   for d in dilations])
        self.up = nn.ModuleList(GatedConv(widths[i + 1] + widths[i], widths[i])
                                for i in reversed(range(levels)))
        self.out = nn.Conv2d(widths[0], channels, 3, padding=1)
        if fill == "pushpull":  # start as the fill itself
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    @property
    def stride(self) -> int:
        return 2 ** self.levels

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = (mask > 0.5).to(image.dtype)
        guess = push_pull_fill(image, mask) if self.fill == "pushpull" else None
        known = image * (1 - mask)
        x = torch.cat([known if guess is None else known + guess * mask, mask], dim=1)  # [N, C+1, H, W]
        x, (h, w) = pad_to_multiple(x, self.stride)
        skips = [self.stem(x)]
        for layer in self.down:
            skips.append(layer(skips[-1]))  # halves H, W each level
        y = self.mid(skips.pop())
        for layer in self.up:
            y = F.interpolate(y, scale_factor=2, mode="nearest")
            y = layer(torch.cat([y, skips.pop()], dim=1))
        y = self.out(y)[..., :h, :w]  # [N, C, H, W]
        y = torch.tanh(y) if guess is None else (guess + y).clamp(-1, 1)
        return image * (1 - mask) + y * mask


register_family("inpaint-unet", kind="inpaint", inpainter=InpaintUNet)
