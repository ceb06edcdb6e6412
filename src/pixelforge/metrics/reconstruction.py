"""Autoencoder reconstruction quality: MSE, PSNR, SSIM (Wang et al. 2004), bits per dim."""

from __future__ import annotations

import math

import torch

PIXEL_LEVELS_HALF = 127.5  # [0, 255] -> [-1, 1] divides by this


def bits_per_dim(nll_nats: float, dims: int, likelihood: str) -> float:
    """Per-image NLL in nats -> bits per dimension.

    Bernoulli NLLs are of binary pixels and convert directly. Gaussian NLLs are densities on the
    [-1, 1] scale; moving to the usual [0, 256) scale adds dims * log(127.5) nats (the Jacobian),
    which makes them comparable to bits/dim reported for 8-bit data with uniform dequantization.
    """
    nats = nll_nats + (dims * math.log(PIXEL_LEVELS_HALF) if likelihood == "gaussian" else 0.0)
    return nats / (dims * math.log(2))


def reconstruction_scores(original: torch.Tensor, recon: torch.Tensor) -> dict[str, float]:
    """MSE and PSNR on the [0, 1] scale, SSIM (gaussian 11x11 window); two [N, C, H, W] batches."""
    from torchmetrics.functional.image import (
        peak_signal_noise_ratio,
        structural_similarity_index_measure,
    )

    a = ((original.float() + 1) * 0.5).clamp(0, 1)
    b = ((recon.float() + 1) * 0.5).clamp(0, 1)
    mse = torch.mean((a - b) ** 2).item()
    psnr = peak_signal_noise_ratio(b, a, data_range=1.0).item()
    ssim = structural_similarity_index_measure(b, a, data_range=1.0).item()
    return {"mse": mse, "psnr": psnr, "ssim": ssim}
