"""Seeded image degradations for restoration: Gaussian noise, JPEG, blur, bicubic downsampling, blind
mix, and the Real-ESRGAN-style realistic chain for upscalers (its operators: data/realistic.py).

Every function takes images in [-1, 1] ([C, H, W] or [N, C, H, W]) and returns the same layout and
range. Randomness comes only from the `seed` (or `torch.Generator`) passed in, so the same seed
gives bit-identical degraded images and every evaluation set is reproducible.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pixelforge.core.images import to_float, to_uint8
from pixelforge.errors import UserError

BLIND_SIGMA = (0.0, 50.0)  # Gaussian sigma range of the blind mix, 0-255 scale
BLIND_JPEG = (30, 95)  # JPEG quality range of the blind mix (inclusive)
BLIND_BLUR = (0.2, 1.2)  # mild Gaussian blur sigma range (pixels)
BLIND_P_BLUR = 0.3  # probability that the blind mix blurs
BLIND_P_JPEG = 0.5  # probability that the blind mix JPEG-compresses (after the noise)


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def _batched(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if x.dim() == 3:
        return x.unsqueeze(0), True
    if x.dim() != 4:
        raise ValueError(f"expected [C, H, W] or [N, C, H, W], got shape {tuple(x.shape)}")
    return x, False


def _unbatch(x: torch.Tensor, single: bool) -> torch.Tensor:
    return x[0] if single else x


def gaussian_noise(x: torch.Tensor, sigma: float, seed: int | torch.Generator = 0, *,
                   clip: bool = True) -> torch.Tensor:
    """Add i.i.d. N(0, sigma^2) noise per pixel and channel, sigma on the 0-255 scale.

    The noise is drawn in float32 on the CPU from `seed` (not quantised); with clip=True (the
    default, as a real noisy 8-bit photo would be) the result is clipped back to [-1, 1].
    """
    if sigma < 0:
        raise UserError(f"noise sigma must be >= 0, got {sigma}")
    noise = torch.randn(x.shape, generator=_generator(seed), dtype=torch.float32)
    y = x.float() + noise.to(x.device) * (float(sigma) / 127.5)  # 255 levels span 2.0 here
    return y.clamp(-1, 1) if clip else y


def to_uint8_hwc(x: torch.Tensor) -> np.ndarray:
    """One image [C, H, W] in [-1, 1] -> uint8 [H, W, C] numpy array (core.images.to_uint8)."""
    return to_uint8(x.detach().cpu()).permute(1, 2, 0).numpy()


def from_uint8_hwc(a: np.ndarray) -> torch.Tensor:
    """uint8 [H, W, C] (or [H, W]) -> float [C, H, W] in [-1, 1] (core.images.to_float)."""
    if a.ndim == 2:
        a = a[..., None]
    return to_float(torch.from_numpy(np.array(a, dtype=np.uint8, copy=True))).permute(2, 0, 1)


def jpeg_bytes(image: torch.Tensor, quality: int) -> bytes:
    """Encode one [C, H, W] image in [-1, 1] as a baseline JPEG with Pillow at `quality`.

    Pillow (libjpeg) defaults: IJG tables scaled by quality, 4:2:0 chroma subsampling for colour.
    """
    if not 1 <= int(quality) <= 100:
        raise UserError(f"JPEG quality must be in 1..100, got {quality}")
    a = to_uint8_hwc(image)
    pil = Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a)
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-compress and decode each image at `quality` (1..100); deterministic, no randomness."""
    xb, single = _batched(x)
    out = []
    for img in xb:
        with Image.open(io.BytesIO(jpeg_bytes(img, quality))) as dec:
            out.append(from_uint8_hwc(np.asarray(dec)))
    return _unbatch(torch.stack(out).to(x.device), single)


def blur_kernel_size(sigma: float) -> int:
    """Odd kernel size covering +-3 sigma: 2 * ceil(3 sigma) + 1."""
    return 2 * math.ceil(3 * float(sigma)) + 1


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Isotropic Gaussian blur of std `sigma` pixels (kernel 2*ceil(3 sigma)+1, reflect padding)."""
    if sigma <= 0:
        return x.clone()
    xb, single = _batched(x.float())
    k = blur_kernel_size(sigma)
    if k // 2 >= min(xb.shape[-2:]):  # reflect padding needs a pad smaller than the image
        k = 2 * (min(xb.shape[-2:]) - 1) - 1 if min(xb.shape[-2:]) > 1 else 1
    t = torch.arange(k, dtype=torch.float32) - k // 2
    g = torch.exp(-0.5 * (t / float(sigma)) ** 2)
    g = (g / g.sum()).to(xb.device)
    c = xb.shape[1]
    pad = k // 2
    y = F.pad(xb, (pad, pad, pad, pad), mode="reflect") if pad else xb
    y = F.conv2d(y, g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)  # horizontal pass
    y = F.conv2d(y, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)  # vertical pass
    return _unbatch(y, single)


def modcrop(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom/right so height and width are multiples of `scale` (the SR convention)."""
    h, w = x.shape[-2:]
    return x[..., : h - h % scale, : w - w % scale]


def bicubic_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize to (H, W) with antialiasing when shrinking (torch's kernel, a = -0.5, as PIL's)."""
    xb, single = _batched(x.float())
    y = F.interpolate(xb, size=size, mode="bicubic", align_corners=False, antialias=True)
    return _unbatch(y.clamp(-1, 1), single)


def bicubic_down(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Low-resolution input for SR: mod-crop to the scale, then antialiased bicubic 1/scale.

    Matches PIL's Image.resize(BICUBIC) within rounding (both use a = -0.5 with a support widened by
    the scale factor); the result is not quantised to 8 bits.
    """
    if int(scale) < 1:
        raise UserError(f"scale must be a positive integer, got {scale}")
    x = modcrop(x, int(scale))
    h, w = x.shape[-2:]
    return bicubic_resize(x, (h // int(scale), w // int(scale)))


@dataclass(frozen=True)
class Degradation:
    """A named, seeded degradation: `kind` in noise | jpeg | blur | bicubic | blind | realistic, plus
    its value.

    noise: Gaussian sigma (0-255 scale); jpeg: quality; blur: sigma in pixels; bicubic and
    realistic: scale (realistic: the second-order blur/resize/noise/JPEG chain); blind: the mix (sigma U[0, 50], JPEG q U{30..95} with p 0.5, blur sigma U[0.2, 1.2] with p 0.3).
    """

    kind: str
    value: float = 0.0
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        if self.kind == "blind":
            return "blind"
        v = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.kind}:{v}"

    def __call__(self, x: torch.Tensor, seed: int | torch.Generator = 0) -> torch.Tensor:
        return degrade(x, self, seed)

    def protocol(self) -> dict[str, Any]:
        """What to record next to a metric so the evaluation can be reproduced."""
        out: dict[str, Any] = {"degradation": self.name}
        if self.kind == "noise":
            out["noise"] = "additive Gaussian, sigma on 0-255 scale, clipped to [0, 255], float"
        elif self.kind == "bicubic":
            out["downsampling"] = "mod-crop, antialiased bicubic (a=-0.5), float"
        elif self.kind == "jpeg":
            out["jpeg"] = "Pillow baseline JPEG, IJG tables, 4:2:0"
        elif self.kind == "realistic":
            out["chain"] = "Real-ESRGAN-style second order (data/realistic.py), then 1/scale"
        elif self.kind == "blind":
            out["blind"] = {"sigma": BLIND_SIGMA, "jpeg": BLIND_JPEG, "p_jpeg": BLIND_P_JPEG,
                            "blur": BLIND_BLUR, "p_blur": BLIND_P_BLUR}
        return out


KINDS = ("noise", "jpeg", "blur", "bicubic", "blind", "realistic")
SCALED = ("bicubic", "realistic")  # kinds whose value is a downscale factor (output 1/value)


def parse_degradation(spec: str | Degradation) -> Degradation:
    """'noise:25', 'jpeg:30', 'blur:1.0', 'bicubic:4', 'realistic:4' ('realistic': x1) or 'blind'
    -> Degradation (UserError if bad)."""
    if isinstance(spec, Degradation):
        return spec
    kind, _, value = str(spec).strip().partition(":")
    if kind not in KINDS:
        raise UserError(f"degradation {spec!r}: kind must be one of {', '.join(KINDS)}")
    if kind == "blind":
        return Degradation("blind")
    if kind == "realistic" and not value:
        value = "1"
    try:
        v = float(value)
    except ValueError:
        raise UserError(f"degradation {spec!r}: expected {kind}:NUMBER") from None
    if kind == "jpeg" and not (1 <= v <= 100 and v.is_integer()):
        raise UserError(f"degradation {spec!r}: JPEG quality must be an integer in 1..100")
    if kind in SCALED and not (v >= 1 and v.is_integer()):
        raise UserError(f"degradation {spec!r}: scale must be an integer >= 1")
    if v < 0:
        raise UserError(f"degradation {spec!r}: value must be >= 0")
    return Degradation(kind, v)


def blind_params(gen: torch.Generator) -> dict[str, float]:
    """Draw one image's blind-mix parameters (blur sigma or 0, noise sigma, JPEG quality or 0)."""
    u = torch.rand(5, generator=gen, dtype=torch.float64).tolist()
    blur = BLIND_BLUR[0] + u[1] * (BLIND_BLUR[1] - BLIND_BLUR[0]) if u[0] < BLIND_P_BLUR else 0.0
    sigma = BLIND_SIGMA[0] + u[2] * (BLIND_SIGMA[1] - BLIND_SIGMA[0])
    q = BLIND_JPEG[0] + min(int(u[4] * (BLIND_JPEG[1] - BLIND_JPEG[0] + 1)), BLIND_JPEG[1] - BLIND_JPEG[0])
    return {"blur": blur, "sigma": sigma, "jpeg": q if u[3] < BLIND_P_JPEG else 0}


def blind(x: torch.Tensor, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Blind mix, each image its own draw: optional mild blur, then Gaussian noise, then optional JPEG."""
    gen = _generator(seed)
    xb, single = _batched(x)
    out = []
    for img in xb:
        p = blind_params(gen)
        y = gaussian_blur(img, p["blur"]) if p["blur"] > 0 else img.float()
        y = gaussian_noise(y, p["sigma"], gen)
        if p["jpeg"]:
            y = jpeg(y, int(p["jpeg"]))
        out.append(y)
    return _unbatch(torch.stack(out), single)


def degrade(x: torch.Tensor, spec: str | Degradation, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Apply a degradation by name or object; the same seed always gives the same pixels."""
    d = parse_degradation(spec)
    if d.kind == "noise":
        return gaussian_noise(x, d.value, seed)
    if d.kind == "jpeg":
        return jpeg(x, int(d.value))
    if d.kind == "blur":
        return gaussian_blur(x, d.value)
    if d.kind == "bicubic":
        return bicubic_down(x, int(d.value))
    if d.kind == "realistic":
        return realistic(x, int(d.value), seed)
    return blind(x, seed)


def realistic(x: torch.Tensor, scale: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """The realistic chain (data/realistic.py) on each image, mod-cropped to the scale: output
    exactly (H // scale, W // scale); each image its own draw from the seed."""
    from pixelforge.data.realistic import realistic_one

    gen = _generator(seed)
    xb, single = _batched(modcrop(x, int(scale)))
    out = torch.stack([realistic_one(img, int(scale), gen) for img in xb])
    return _unbatch(out.to(x.device), single)


def item_seed(base_seed: int, index: int) -> int:
    """A per-image seed from a data-set seed and the image index (stable across runs/machines)."""
    return (int(base_seed) * 1_000_003 + int(index) * 7919 + 12345) % (2**63 - 1)


def restoration_pair(clean: torch.Tensor, spec: str | Degradation, seed: int,
                     *, quantize: bool = False) -> dict[str, torch.Tensor]:
    """A training/eval batch {"input", "target"} from clean [N, C, H, W]: the degraded images and
    the clean ones (mod-cropped to the scale for bicubic). quantize rounds the input to 8 bits,
    like a saved file; seeds per step keep resumed runs bit-exact."""
    d = parse_degradation(spec)
    target = modcrop(clean, int(d.value)) if d.kind in SCALED else clean
    x = degrade(target, d, seed)
    if quantize:
        x = to_float(to_uint8(x))  # the 8-bit grid
    return {"input": x, "target": target}
