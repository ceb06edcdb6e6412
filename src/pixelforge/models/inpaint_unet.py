"""U-Net with gated convolutions for inpainting (gating after Yu et al., DeepFill v2, 2019)."""

from __future__ import annotations

import math

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


# pyramid depth while exporting to ONNX, where H and W are symbolic: enough for 32768 px sides
# (the extra 1x1 levels of a smaller image leave the fills unchanged, see _pyramid)
EXPORT_LEVELS = 15


def _pyramid(num: torch.Tensor, den: torch.Tensor):
    """[(known-pixel sums, known fraction)] per level, finest first, over 2x2 cells, and the
    coarsest pair. Halving stops at 1 px; when tracing for ONNX a fixed EXPORT_LEVELS are built
    instead, because a 1x1 level pools to itself and so changes nothing."""
    levels = []
    depth = EXPORT_LEVELS if torch.onnx.is_in_onnx_export() else math.ceil(
        math.log2(max(num.shape[-2:])))
    for _ in range(depth):
        levels.append((num, den))
        num, den = F.avg_pool2d(num, 2, ceil_mode=True), F.avg_pool2d(den, 2, ceil_mode=True)
    return levels, num, den


def push_pull_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A smooth guess for the hole (mask 1): the known pixels averaged over a pyramid of 2x2
    cells, each level filling what the finer one lacks (push-pull, Gortler et al. 1996)."""
    num = image * (1 - mask)
    den = (1 - mask).expand_as(image[:, :1])  # fraction of known pixels per cell
    levels, num, den = _pyramid(num, den)
    est = num / den.clamp_min(1e-6)
    for num, den in reversed(levels):
        up = F.interpolate(est, size=num.shape[-2:], mode="bilinear", align_corners=False)
        est = num / den.clamp_min(1e-6) * den + up * (1 - den)
    return est


def harmonic_fill(image: torch.Tensor, mask: torch.Tensor, iters: int = 60) -> torch.Tensor:
    """The membrane (Laplace) interpolant of the known pixels over the hole (mask 1), solved
    coarse to fine: at each level of the push-pull pyramid, `iters` Jacobi sweeps of the
    4-neighbour mean where pixels are missing, known fractions held fixed, edges replicated.

    It is the smoothest fill that meets the hole's border, the classical diffusion inpainting that
    Telea's and the Navier-Stokes methods refine; on photos/test it is 0.8-1.0 dB ahead of both in
    the hole (docs/restoration.md). Computed in fp32 under any autocast, without autograd."""
    with torch.no_grad(), torch.autocast(image.device.type, enabled=False):
        x, m = image.float(), mask.float()
        levels, num, den = _pyramid(x * (1 - m), (1 - m).expand_as(x[:, :1]))
        est = num / den.clamp_min(1e-6)
        kernel = x.new_tensor([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]]).view(1, 1, 3, 3)
        for num, den in reversed(levels):
            est = F.interpolate(est, size=num.shape[-2:], mode="bilinear", align_corners=False)
            free = 1 - den  # how much of each cell is hole: the part the sweeps may change
            for _ in range(iters):  # channels as batch: one [1, 1, 3, 3] kernel for any C
                mean4 = F.conv2d(F.pad(est.flatten(0, 1)[:, None], (1, 1, 1, 1), mode="replicate"),
                                 kernel)
                est = num + mean4.view_as(est) * free
        return est.to(image.dtype)


FILLS = {"zero": None, "pushpull": push_pull_fill, "harmonic": harmonic_fill}


def start_as_fill(out: nn.Conv2d, fill: str) -> None:
    """Zero the last layer when there is a classical fill, so an untrained net returns the fill."""
    if FILLS[fill] is not None:
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)


def fill_input(image: torch.Tensor, mask: torch.Tensor, fill: str):
    """(binary mask, the fill's guess or None, the net's input [N, C+1, H, W]: known pixels with
    the guess in the hole, then the mask)."""
    mask = (mask > 0.5).to(image.dtype)
    guess = None if FILLS[fill] is None else FILLS[fill](image, mask)
    known = image * (1 - mask)
    return mask, guess, torch.cat([known if guess is None else known + guess * mask, mask], dim=1)


class FillInpainter(PixelforgeModule):
    """What the inpainters share: `levels` halvings (inputs padded to 2^levels) and `fill`, the
    classical fill they correct (or "zero": they paint the hole from nothing)."""

    levels: int
    fill: str

    @property
    def stride(self) -> int:
        return 2 ** self.levels

    def net_input(self, image: torch.Tensor, mask: torch.Tensor):
        """(binary mask, the fill's guess or None, the padded input [N, C+1, H', W'], (H, W))."""
        mask, guess, x = fill_input(image, mask, self.fill)
        x, hw = pad_to_multiple(x, self.stride)
        return mask, guess, x, hw


def compose(image: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, guess) -> torch.Tensor:
    """The output: known pixels kept, the hole from the net (a correction of the guess, if any).

    A corrected guess is clamped to [-1, 1] in value only: the gradient passes the clamp as if it
    were not there (straight-through). A hard clamp gives zero gradient to every pixel past the
    range, so once a correction overshot, nothing pulled it back: the harmonic-fill FFC run
    collapsed at step ~1,100 to holes of saturated colour and stayed there (issue 20)."""
    if guess is None:
        y = torch.tanh(y)
    else:
        y = guess + y
        y = y + (y.clamp(-1, 1) - y).detach()
    return image * (1 - mask) + y * mask


class GatedConv(nn.Module):
    """out = ELU(conv_f(x)) * sigmoid(conv_g(x)): the gate learns where features are valid."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride, padding=dilation * (k - 1) // 2,
                              dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, g = self.conv(x).chunk(2, dim=1)
        return F.elu(f) * torch.sigmoid(g)


class InpaintUNet(FillInpainter):
    """(image [N, C, H, W] in [-1, 1], mask [N, 1, H, W], 1 = hole) -> image with the hole filled.

    The network sees the image with holes zeroed plus the mask; its output is pasted into the hole
    only, so known pixels pass through exactly. Encoder of `levels` stride-2 gated convs, a dilated
    bottleneck for context, nearest-upsampling decoder with skips; any H, W (padded to 2^levels).
    Defaults: 1.2M parameters (4.9 MB in fp32). fill="harmonic" (or "pushpull") puts that
    classical fill in the hole instead of zeros and learns a correction to it, starting as the
    fill itself, which trains much faster on a CPU budget; fill="zero" predicts the hole from
    scratch.
    """

    def __init__(self, channels: int = 3, width: int = 20, levels: int = 4,
                 dilations: tuple[int, ...] = (2, 4, 8), fill: str = "zero") -> None:
        super().__init__()
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {sorted(FILLS)}, got {fill!r}")
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
        start_as_fill(self.out, fill)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask, guess, x, (h, w) = self.net_input(image, mask)  # x: [N, C+1, H', W']
        skips = [self.stem(x)]
        for layer in self.down:
            skips.append(layer(skips[-1]))  # halves H, W each level
        y = self.mid(skips.pop())
        for layer in self.up:
            y = F.interpolate(y, scale_factor=2, mode="nearest")
            y = layer(torch.cat([y, skips.pop()], dim=1))
        return compose(image, mask, self.out(y)[..., :h, :w], guess)  # [N, C, H, W]


register_family("inpaint-unet", kind="inpaint", inpainter=InpaintUNet)
