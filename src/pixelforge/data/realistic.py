"""A Real-ESRGAN-style second-order degradation chain (Wang et al. 2021), our own implementation.

Twice: blur with a random kernel (isotropic/anisotropic Gaussian or generalized Gaussian, or a
sinc), a random resize (up/down/keep, area/bilinear/bicubic), Gaussian or Poisson noise (colour or
gray), JPEG at a random quality; then the final resize to 1/scale and a sinc + JPEG step in random
order. Images are in [-1, 1]; every draw comes from one torch.Generator, so the same seed gives
the same pixels (exact resume) and the output is exactly (H // scale, W // scale).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pixelforge.core.images import to_float, to_uint8

KERNEL_SIZES = (7, 9, 11, 13, 15, 17, 19, 21)  # odd blur kernel sizes, drawn uniformly
RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class Stage:
    """The random ranges of one pass of the chain (Real-ESRGAN's published settings)."""

    p_blur: float
    blur_sigma: tuple[float, float]
    p_sinc: float  # probability that the blur kernel is a sinc (ringing) instead
    resize_p: tuple[float, float, float]  # up, down, keep
    resize_range: tuple[float, float]
    p_gaussian: float  # else Poisson
    gauss_sigma: tuple[float, float]  # 0-255 scale
    poisson_scale: tuple[float, float]
    p_gray_noise: float
    jpeg: tuple[int, int]


FIRST = Stage(1.0, (0.2, 3.0), 0.1, (0.2, 0.7, 0.1), (0.15, 1.5), 0.5, (1, 30), (0.05, 3.0),
              0.4, (30, 95))
SECOND = Stage(0.8, (0.2, 1.5), 0.1, (0.3, 0.4, 0.3), (0.3, 1.2), 0.5, (1, 25), (0.05, 2.5),
               0.4, (30, 95))
P_FINAL_SINC = 0.8


class Draw:
    """Uniform draws from a torch.Generator (CPU, float64: the same numbers on every machine)."""

    def __init__(self, gen: torch.Generator) -> None:
        self.gen = gen

    def u(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=self.gen, dtype=torch.float64))

    def choice(self, items: tuple) -> object:
        return items[min(int(self.u() * len(items)), len(items) - 1)]

    def integer(self, lo: int, hi: int) -> int:
        """Uniform in lo..hi inclusive."""
        return lo + min(int(self.u() * (hi - lo + 1)), hi - lo)


# -- kernels ---------------------------------------------------------------------------------------
def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float,
                    beta: float = 1.0) -> torch.Tensor:
    """A [size, size] (generalized) Gaussian kernel, normalised to sum 1: exp(-0.5 q^beta) with
    q = x^T S^-1 x for the covariance S of std (sigma_x, sigma_y) rotated by theta. beta = 1 is
    the Gaussian; beta < 1 heavier tails, beta > 1 a flatter top."""
    t = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy  # coordinates along the kernel's own axes
    q = (u / sigma_x) ** 2 + (v / sigma_y) ** 2
    k = torch.exp(-0.5 * q.pow(beta))
    return (k / k.sum()).float()


def sinc_kernel(size: int, cutoff: float) -> torch.Tensor:
    """A [size, size] circular low-pass (2-D sinc, jinc) with cutoff `cutoff` in radians/pixel:
    the ideal filter's ringing and overshoot, as from sharpening or resampling."""
    t = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    r = torch.sqrt(xx ** 2 + yy ** 2)
    safe = torch.where(r == 0, torch.ones_like(r), r)
    k = cutoff * torch.special.bessel_j1(cutoff * safe) / (2 * math.pi * safe)
    k = torch.where(r == 0, torch.full_like(r, cutoff ** 2 / (4 * math.pi)), k)
    return (k / k.sum()).float()


def random_kernel(d: Draw, stage: Stage) -> torch.Tensor:
    """One blur kernel: a sinc with p stage.p_sinc, else an isotropic or anisotropic Gaussian or
    generalized Gaussian (beta 0.5-4) of std in stage.blur_sigma."""
    size = int(d.choice(KERNEL_SIZES))
    if d.u() < stage.p_sinc:
        cutoff = d.u(math.pi / 3, math.pi) if size < 13 else d.u(math.pi / 5, math.pi)
        return sinc_kernel(size, cutoff)
    lo, hi = stage.blur_sigma
    shape = d.choice(("iso", "aniso", "generalized_iso", "generalized_aniso"))
    sx = d.u(lo, hi)
    sy, theta = (d.u(lo, hi), d.u(-math.pi, math.pi)) if "aniso" in shape else (sx, 0.0)
    beta = (d.u(0.5, 1.0) if d.u() < 0.5 else d.u(1.0, 4.0)) if "generalized" in shape else 1.0
    return gaussian_kernel(size, sx, sy, theta, beta)


# -- operators -------------------------------------------------------------------------------------
def filter2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve [N, C, H, W] with one [k, k] kernel per channel (edge-replicated borders, so it
    works on images smaller than the kernel); same size out."""
    k = kernel.shape[-1]
    c = x.shape[1]
    pad = k // 2
    y = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    w = kernel.to(x.dtype).flip(0, 1).view(1, 1, k, k).expand(c, 1, k, k)
    return F.conv2d(y, w, groups=c)


def resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize [N, C, H, W] to size with `mode` (area, bilinear or bicubic; antialiased when
    shrinking with bilinear/bicubic)."""
    size = (max(1, int(size[0])), max(1, int(size[1])))
    if mode == "area":
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=True)


def gaussian_noise(x: torch.Tensor, sigma: float, gray: bool, gen: torch.Generator) -> torch.Tensor:
    """Add N(0, sigma^2) noise (sigma on the 0-255 scale); gray: one draw shared by the channels."""
    shape = (x.shape[0], 1, *x.shape[2:]) if gray else x.shape
    n = torch.randn(shape, generator=gen, dtype=torch.float32) * (sigma / 127.5)
    return x + n.to(x.device)


def poisson_noise(x: torch.Tensor, scale: float, gray: bool, gen: torch.Generator) -> torch.Tensor:
    """Add shot noise: Poisson counts of the [0, 1] intensities at as many photons per unit as
    the image has grey levels (rounded up to a power of 2), their error times `scale`; gray: the
    noise of the luma, shared by the channels."""
    v = ((x.detach().float().cpu() + 1) / 2).clamp(0, 1)
    if gray and v.shape[1] == 3:
        v = (0.299 * v[:, :1] + 0.587 * v[:, 1:2] + 0.114 * v[:, 2:]).clamp(0, 1)
    levels = 2 ** math.ceil(math.log2(max(len(torch.unique((v * 255).round())), 2)))
    counts = torch.poisson(v * float(levels), generator=gen)
    n = (counts / levels - v) * scale * 2  # x2: [0, 1] -> [-1, 1]
    return x + n.to(x.device, x.dtype)


def noise(x: torch.Tensor, d: Draw, stage: Stage) -> torch.Tensor:
    """Gaussian noise with p stage.p_gaussian, else Poisson; gray with p stage.p_gray_noise."""
    gaussian = d.u() < stage.p_gaussian
    gray = d.u() < stage.p_gray_noise
    if gaussian:
        return gaussian_noise(x, d.u(*stage.gauss_sigma), gray, d.gen)
    return poisson_noise(x, d.u(*stage.poisson_scale), gray, d.gen)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG round trip of each image at `quality` with Pillow (libjpeg, 4:2:0 for colour): the
    8-bit, clipped picture a saved file would hold. The same pixels as data.degradations.jpeg
    (tested), written here because degradations imports this module."""
    out = []
    for img in x:
        a = to_uint8(img.detach().cpu().clamp(-1, 1)).permute(1, 2, 0).numpy()
        buf = io.BytesIO()
        Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(buf, format="JPEG",
                                                                   quality=int(quality))
        with Image.open(buf) as dec:
            d = np.asarray(dec)
        d = d[..., None] if d.ndim == 2 else d
        out.append(to_float(torch.from_numpy(d.copy())).permute(2, 0, 1))
    return torch.stack(out).to(x.device)


# -- the chain -------------------------------------------------------------------------------------
def one_pass(x: torch.Tensor, d: Draw, stage: Stage, base: tuple[int, int],
             scale_of: float = 1.0) -> torch.Tensor:
    """Blur (p stage.p_blur), random resize of `base` size (x scale_of), noise, JPEG."""
    if d.u() < stage.p_blur:
        x = filter2d(x, random_kernel(d, stage))
    r = d.u()
    up, down, _ = stage.resize_p
    if r < up:
        s = d.u(1.0, stage.resize_range[1])
    elif r < up + down:
        s = d.u(stage.resize_range[0], 1.0)
    else:
        s = 1.0
    mode = str(d.choice(RESIZE_MODES))
    x = resize(x, (round(base[0] * scale_of * s), round(base[1] * scale_of * s)), mode)
    x = noise(x, d, stage)
    return jpeg(x, d.integer(*stage.jpeg))


def final_step(x: torch.Tensor, d: Draw, out: tuple[int, int]) -> torch.Tensor:
    """Resize to `out` with a random mode plus a sinc (p P_FINAL_SINC), and JPEG, in random order."""
    mode = str(d.choice(RESIZE_MODES))
    sinc = None
    if d.u() < P_FINAL_SINC:
        size = int(d.choice(KERNEL_SIZES))
        sinc = sinc_kernel(size, d.u(math.pi / 3, math.pi))
    q = d.integer(*SECOND.jpeg)

    def shrink(y: torch.Tensor) -> torch.Tensor:
        y = resize(y, out, mode)
        return filter2d(y, sinc) if sinc is not None else y

    if d.u() < 0.5:
        return jpeg(shrink(x), q)
    return shrink(jpeg(x, q))


def realistic_one(img: torch.Tensor, scale: int, gen: torch.Generator) -> torch.Tensor:
    """The chain on one [C, H, W] image (H, W multiples of scale) -> [C, H/scale, W/scale]."""
    d = Draw(gen)
    h, w = img.shape[-2:]
    x = img.float().unsqueeze(0)
    x = one_pass(x, d, FIRST, (h, w))
    x = one_pass(x, d, SECOND, (h, w), scale_of=1.0 / scale)
    x = final_step(x, d, (h // scale, w // scale))
    return x.clamp(-1, 1)[0]
