"""Scores for image translation: paired L1/PSNR/SSIM, cycle-reconstruction PSNR, domain FD/KID.

Protocol (recorded by `protocol()` with every result): images [N, C, H, W] in [-1, 1] are mapped
to [0, 1] and rounded to 8 bits (what a saved PNG holds) before measuring; L1 is the mean
absolute difference on that [0, 1] scale (x255 for grey levels); PSNR (data range 1) and SSIM
(Gaussian 11x11, sigma 1.5) are on all RGB channels, no border crop, averaged over images.
FD and KID compare translated images with held-out real images of the target domain in the
features of the offline cnn extractor trained on the target domain (pixelforge.metrics.extractor;
at most 32 px), the same features `pixelforge eval` uses for generators.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pixelforge.metrics.frechet import feature_stats, frechet_distance
from pixelforge.metrics.kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS, kernel_distance
from pixelforge.metrics.restoration import SSIM_KERNEL, SSIM_SIGMA, psnr, ssim, to_unit


def _same_shape(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute error [N] on the [0, 1] scale (8-bit quantised)."""
    _same_shape(pred, target)
    return (to_unit(pred) - to_unit(target)).abs().flatten(1).mean(dim=1)


def paired_scores(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Mean L1, PSNR (dB) and SSIM of translations against their ground truth."""
    _same_shape(pred, target)
    return {"l1": float(l1(pred, target).mean()), "psnr": float(psnr(pred, target).mean()),
            "ssim": float(ssim(pred, target).mean())}


def cycle_psnr(original: torch.Tensor, reconstructed: torch.Tensor) -> float:
    """Mean PSNR (dB) of x against G_BA(G_AB(x)) (or the reverse cycle): how much survives."""
    return float(psnr(reconstructed, original).mean())


def domain_scores(fake_features: np.ndarray, real_features: np.ndarray, *,
                  seed: int = 0) -> dict[str, float]:
    """FD and KID (mean, std over subsets) between translated and real target-domain features."""
    mu_f, sig_f = feature_stats(fake_features)
    mu_r, sig_r = feature_stats(real_features)
    kid, kid_std = kernel_distance(fake_features, real_features, subset_size=DEFAULT_SUBSET_SIZE,
                                   subsets=DEFAULT_SUBSETS, seed=seed)
    return {"fd": frechet_distance(mu_f, sig_f, mu_r, sig_r), "kid": kid, "kid_std": kid_std}


def protocol(*, direction: str, data: str, n: int, extractor: str | None = None,
             seed: int = 0, tile: int = 0, precision: str = "fp32") -> dict[str, Any]:
    """What a translation score must record to be reproducible and comparable."""
    return {"kind": "translation", "direction": direction, "data": data, "n_images": n,
            "scale": "[0, 1], 8-bit quantised", "channels": "RGB, no border crop",
            "ssim": f"gaussian {SSIM_KERNEL}/{SSIM_SIGMA}", "extractor": extractor,
            "kid_subsets": DEFAULT_SUBSETS, "kid_subset_size": DEFAULT_SUBSET_SIZE,
            "seed": seed, "tile": tile, "precision": precision}
