"""Classical restoration: NL-means, Gaussian blur and BM3D denoising; bicubic/Lanczos upscaling;
Telea and Navier-Stokes inpainting. All take and return [N, 3, H, W] (or [3, H, W]) in [-1, 1].

Each works on the 8-bit image a user would have (inputs are rounded to uint8 first), as the
OpenCV functions require.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from pixelforge.data.degradations import from_uint8_hwc, gaussian_blur, to_uint8_hwc

# h of cv2.fastNlMeansDenoisingColored (h = hColor, template 7, search 21) per noise sigma, chosen
# by metrics.restoration.tune_nlmeans_h on 30 seeded 128 px crops of photos/train (benchmarks/restoration_baselines.py
# tune; grid 0.4-1.2 sigma, then refined): sigma 15 -> 8.0 (31.51 dB), 25 -> 14.0 (28.69 dB),
# 50 -> 27.5 (25.42 dB). Other sigmas interpolate linearly (through h = 0 at sigma 0).
NLMEANS_H: dict[int, float] = {15: 8.0, 25: 14.0, 50: 27.5}
# Gaussian-blur baseline: blur sigma (px) per noise sigma (0.5 + sigma / 40, a fixed rule).


def _per_image(fn: Callable[[np.ndarray], np.ndarray], x: torch.Tensor) -> torch.Tensor:
    single = x.dim() == 3
    xb = x.unsqueeze(0) if single else x
    out = torch.stack([from_uint8_hwc(fn(to_uint8_hwc(img))) for img in xb]).to(x.device)
    return out[0] if single else out


def nlmeans_h(sigma: float) -> float:
    """The tuned NL-means h for `sigma`, interpolated linearly between the tuned sigmas."""
    xs = [0.0, *sorted(NLMEANS_H)]
    ys = [0.0, *(NLMEANS_H[k] for k in sorted(NLMEANS_H))]
    if sigma >= xs[-1]:
        return ys[-1] * sigma / xs[-1]
    return float(np.interp(sigma, xs, ys))


def nlmeans(x: torch.Tensor, sigma: float | None = None, *, h: float | None = None,
            template: int = 7, search: int = 21) -> torch.Tensor:
    """OpenCV non-local means (colour); `h` explicit or looked up from NLMEANS_H for `sigma`."""
    import cv2

    if h is None:
        if sigma is None:
            raise ValueError("nlmeans needs sigma or h")
        h = nlmeans_h(sigma)

    def run(a: np.ndarray) -> np.ndarray:
        if a.shape[2] == 1:
            return cv2.fastNlMeansDenoising(a[..., 0], None, h, template, search)[..., None]
        bgr = np.ascontiguousarray(a[..., ::-1])
        return cv2.fastNlMeansDenoisingColored(bgr, None, h, h, template, search)[..., ::-1]

    return _per_image(run, x)


def gaussian_denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with std 0.5 + sigma / 40 px: the simplest smoother, as a floor."""
    return gaussian_blur(x, 0.5 + float(sigma) / 40).clamp(-1, 1)


def bm3d_denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """BM3D (the `bm3d` package, colour version bm3d_rgb) with the true noise sigma."""
    import bm3d

    def run(a: np.ndarray) -> np.ndarray:
        z = a.astype(np.float64) / 255
        if a.shape[2] == 1:
            y = bm3d.bm3d(z[..., 0], sigma_psd=sigma / 255)[..., None]
        else:
            y = bm3d.bm3d_rgb(z, sigma_psd=sigma / 255)
        return (np.clip(y, 0, 1) * 255).round().astype(np.uint8)

    return _per_image(run, x)


def _pil_upscale(x: torch.Tensor, scale: int, method: int) -> torch.Tensor:
    def run(a: np.ndarray) -> np.ndarray:
        im = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)
        out = np.asarray(im.resize((im.width * scale, im.height * scale), method))
        return out[..., None] if out.ndim == 2 else out

    return _per_image(run, x)


def upscale_bicubic(x: torch.Tensor, scale: int) -> torch.Tensor:
    """PIL bicubic (a = -0.5) upscaling by an integer factor."""
    return _pil_upscale(x, scale, Image.Resampling.BICUBIC)


def upscale_lanczos(x: torch.Tensor, scale: int) -> torch.Tensor:
    """PIL Lanczos-3 upscaling by an integer factor."""
    return _pil_upscale(x, scale, Image.Resampling.LANCZOS)


def _cv2_inpaint(x: torch.Tensor, mask: torch.Tensor, flag: int, radius: int) -> torch.Tensor:
    import cv2

    single = x.dim() == 3
    xb, mb = (x.unsqueeze(0), mask.unsqueeze(0)) if single else (x, mask)
    outs = []
    for img, m in zip(xb, mb, strict=True):
        a = to_uint8_hwc(img)
        hole = (m.reshape(m.shape[-2:]) > 0.5).numpy().astype(np.uint8) * 255  # non-zero = hole
        bgr = np.ascontiguousarray(a[..., ::-1]) if a.shape[2] == 3 else a[..., 0]
        res = cv2.inpaint(bgr, hole, radius, flag)
        res = res[..., ::-1] if res.ndim == 3 else res[..., None]
        outs.append(from_uint8_hwc(np.ascontiguousarray(res)))
    out = torch.stack(outs).to(x.device)
    return out[0] if single else out


def inpaint_telea(x: torch.Tensor, mask: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """cv2.inpaint with Telea's fast marching method; mask 1 = hole."""
    import cv2

    return _cv2_inpaint(x, mask, cv2.INPAINT_TELEA, radius)


def inpaint_ns(x: torch.Tensor, mask: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """cv2.inpaint with the Navier-Stokes based method; mask 1 = hole."""
    import cv2

    return _cv2_inpaint(x, mask, cv2.INPAINT_NS, radius)


BASELINES: dict[str, dict[str, Callable[..., torch.Tensor]]] = {
    "denoise": {"nlmeans": nlmeans, "gaussian": gaussian_denoise, "bm3d": bm3d_denoise},
    "upscale": {"bicubic": upscale_bicubic, "lanczos": upscale_lanczos},
    "inpaint": {"telea": inpaint_telea, "ns": inpaint_ns},
}
