"""PSNR and SSIM for restoration (torchmetrics), with the SR protocol: Y channel and a cropped border.

Inputs are [N, C, H, W] in [-1, 1]; both are mapped to [0, 1] and, with quantize=True (the
default, what a saved 8-bit PNG holds), rounded to 8 bits first. Y is ITU-R BT.601 luma in its
studio range (16-235), as MATLAB's rgb2ycbcr and BasicSR compute it; `crop` pixels are removed on
every side before measuring (SR convention: crop = scale). Results are per image ([N] tensors).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

SSIM_KERNEL = 11  # Gaussian window of Wang et al. (2004): 11x11, sigma 1.5
SSIM_SIGMA = 1.5


def to_unit(x: torch.Tensor, quantize: bool = True) -> torch.Tensor:
    """[-1, 1] -> [0, 1] float64, optionally rounded to 8-bit levels."""
    x = (x.detach().double().clamp(-1, 1) + 1) / 2
    return (x * 255).round() / 255 if quantize else x


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] RGB in [0, 1] -> [N, 1, H, W] BT.601 luma Y in [16/255, 235/255]."""
    w = x.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True) / 255 + 16 / 255


def _prepare(pred: torch.Tensor, target: torch.Tensor, crop: int, y_channel: bool,
             quantize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    p, t = to_unit(pred, quantize), to_unit(target, quantize)
    if y_channel and p.shape[1] == 3:
        p, t = rgb_to_y(p), rgb_to_y(t)
    if crop:
        p, t = p[..., crop:-crop, crop:-crop], t[..., crop:-crop, crop:-crop]
    return p, t


def psnr(pred: torch.Tensor, target: torch.Tensor, *, crop: int = 0, y_channel: bool = False,
         mask: torch.Tensor | None = None, quantize: bool = True) -> torch.Tensor:
    """Per-image PSNR in dB [N]; with `mask` [N, 1, H, W] only the pixels where mask > 0.5 count."""
    p, t = _prepare(pred, target, crop, y_channel, quantize)
    if mask is None:
        from torchmetrics.functional.image import peak_signal_noise_ratio  # slow import: lazy

        return peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3))
    m = (mask > 0.5).double()
    if crop:
        m = m[..., crop:-crop, crop:-crop]
    m = m.expand_as(p)
    mse = ((p - t) ** 2 * m).sum(dim=(1, 2, 3)) / m.sum(dim=(1, 2, 3)).clamp_min(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-12))


def ssim(pred: torch.Tensor, target: torch.Tensor, *, crop: int = 0, y_channel: bool = False,
         quantize: bool = True) -> torch.Tensor:
    """Per-image SSIM [N] (Gaussian 11x11 window, sigma 1.5, data range 1)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    p, t = _prepare(pred, target, crop, y_channel, quantize)
    return structural_similarity_index_measure(p, t, data_range=1.0, kernel_size=SSIM_KERNEL,
                                               sigma=SSIM_SIGMA, reduction="none")


def restoration_scores(pred: torch.Tensor, target: torch.Tensor, *, kind: str, scale: int = 1,
                       mask: torch.Tensor | None = None) -> dict[str, float]:
    """Mean scores for one kind: upscale -> Y (crop=scale) and RGB; inpaint -> hole and whole."""
    out: dict[str, float] = {}
    if kind == "upscale":
        out["psnr_y"] = float(psnr(pred, target, crop=scale, y_channel=True).mean())
        out["ssim_y"] = float(ssim(pred, target, crop=scale, y_channel=True).mean())
        out["psnr_rgb"] = float(psnr(pred, target, crop=scale).mean())
        return out
    out["psnr"] = float(psnr(pred, target).mean())
    out["ssim"] = float(ssim(pred, target).mean())
    if kind == "inpaint" and mask is not None:
        out["psnr_hole"] = float(psnr(pred, target, mask=mask).mean())
    return out


def protocol(kind: str, *, scale: int = 1, degradation: str = "", seed: int = 0,
             crop_size: int | None = None, data_fingerprint: str = "") -> dict[str, Any]:
    """What a restoration result must record to be reproducible and comparable."""
    return {"kind": kind, "degradation": degradation, "seed": seed, "crop_size": crop_size,
            "border_crop": scale if kind == "upscale" else 0,
            "channel": "Y (BT.601) and RGB" if kind == "upscale" else "RGB",
            "quantized": "8-bit before measuring", "ssim": f"gaussian {SSIM_KERNEL}/{SSIM_SIGMA}",
            "data_fingerprint": data_fingerprint}


def evaluate_restoration(fn, kind: str, clean: list[torch.Tensor], *, spec: str, seed: int = 0,
                         quantize_input: bool = True) -> dict[str, Any]:
    """Score a restorer on clean images ([3, H, W] in [-1, 1]) under one seeded degradation.

    fn(input [1, 3, h, w]) -> output (inpaint: fn(input, mask [1, 1, H, W])). spec is a
    degradation ("noise:25", "jpeg:30", "blind", "bicubic:4") or, for inpaint, a mask protocol
    ("thin", "medium", "thick"). Image i uses seed item_seed(seed, i), so every method sees the
    same inputs. Returns the mean scores, megapixels of output per second, and the protocol.
    """
    import time

    from pixelforge.data.degradations import item_seed, parse_degradation, restoration_pair
    from pixelforge.data.masks import random_mask

    scale = 1
    if kind != "inpaint":
        d = parse_degradation(spec)
        scale = int(d.value) if d.kind in ("bicubic", "realistic") else 1
    sums: dict[str, float] = {}
    seconds, pixels = 0.0, 0
    for i, img in enumerate(clean):
        s = item_seed(seed, i)
        x = img[None].float()
        if kind == "inpaint":
            mask = random_mask(spec, x.shape[-2], x.shape[-1], seed=s)[None]
            target, inp = x, x * (1 - mask)
            t = time.perf_counter()
            out = fn(inp, mask)
        else:
            mask = None
            pair = restoration_pair(x, spec, s, quantize=quantize_input)
            target, inp = pair["target"], pair["input"]
            t = time.perf_counter()
            out = fn(inp)
        seconds += time.perf_counter() - t
        pixels += out.shape[-1] * out.shape[-2]
        for k, v in restoration_scores(out, target, kind=kind, scale=scale, mask=mask).items():
            sums[k] = sums.get(k, 0.0) + v
    n = max(1, len(clean))
    result: dict[str, Any] = {k: v / n for k, v in sums.items()}
    result["megapixels_per_s"] = pixels / 1e6 / max(seconds, 1e-9)
    result["protocol"] = protocol(kind, scale=scale, degradation=spec, seed=seed)
    result["protocol"]["n_images"] = len(clean)
    result["protocol"]["input"] = "rounded to 8 bits" if quantize_input else "float"
    return result


def tune_nlmeans_h(clean: Iterable[torch.Tensor], sigma: float, *, seed: int = 0,
                   candidates: Iterable[float] | None = None) -> tuple[float, dict[float, float]]:
    """Pick NL-means `h` for noise `sigma`: the candidate with the best mean PSNR on `clean`
    images ([3, H, W] in [-1, 1]) after seeded Gaussian noise, clipped and rounded to 8 bits.
    Returns (best h, {h: mean PSNR})."""
    from pixelforge.baselines.classical import nlmeans
    from pixelforge.data.degradations import gaussian_noise

    images = list(clean)
    noisy = [gaussian_noise(img, sigma, seed * 1000 + i) for i, img in enumerate(images)]
    if candidates is None:
        candidates = [round(sigma * f, 1) for f in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2)]
    scores: dict[float, float] = {}
    for h in candidates:
        vals = [float(psnr(nlmeans(n, h=h)[None], c[None])[0]) for n, c in zip(noisy, images,
                                                                                 strict=True)]
        scores[float(h)] = sum(vals) / len(vals)
    best = max(scores, key=scores.get)
    return best, scores
