"""Frechet distance between Gaussian fits of two feature sets (FID, Heusel et al. 2017)."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from pixelforge.metrics.threads import torch_threads

ArrayLike = np.ndarray


@torch_threads()
def feature_stats(feats: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """[N, D] features -> (mean [D], covariance [D, D]) in float64; the covariance uses N - 1."""
    x = torch.as_tensor(np.asarray(feats), dtype=torch.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"feature_stats needs an [N, D] array with N >= 2, got {tuple(x.shape)}")
    mu = x.mean(dim=0)
    centred = x - mu
    sigma = centred.T @ centred / (x.shape[0] - 1)
    return mu.numpy(), sigma.numpy()


@torch_threads()
def frechet_distance(
    mu1: ArrayLike,
    sigma1: ArrayLike,
    mu2: ArrayLike,
    sigma2: ArrayLike,
    *,
    method: str = "eigh",
    eps: float = 1e-6,
) -> float:
    """d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)), in float64, never negative.

    method "eigh" (default) computes tr((S1 S2)^(1/2)) as the sum of square roots of the
    eigenvalues of the symmetric PSD matrix S1^(1/2) S2 S1^(1/2): no complex parts arise and
    singular covariances need no offset. method "sqrtm" is the classic scipy.linalg.sqrtm route:
    when the product is singular it retries with `eps` added to both diagonals, and it drops an
    imaginary part that is only rounding noise (raising if it is not).
    """
    m1 = np.atleast_1d(np.asarray(mu1, np.float64))
    m2 = np.atleast_1d(np.asarray(mu2, np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if m1.shape != m2.shape or s1.shape != s2.shape or s1.shape != (m1.size, m1.size):
        raise ValueError(
            f"mismatched statistics: mu {m1.shape} vs {m2.shape}, sigma {s1.shape} vs {s2.shape}"
        )
    if method == "eigh":
        tr_covmean = _trace_sqrt_product_eigh(s1, s2)
    elif method == "sqrtm":
        tr_covmean = _trace_sqrt_product_sqrtm(s1, s2, eps)
    else:
        raise ValueError(f"method must be 'eigh' or 'sqrtm', not {method!r}")
    diff = m1 - m2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(value, 0.0)


# The eigh route runs in torch (float64): one thread pool with the feature extraction, where
# numpy's separate BLAS pool was measured 10x slower on a busy 2-core machine.
def _psd_sqrt(s: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a (numerically) PSD matrix; tiny negative eigenvalues -> 0."""
    vals, vecs = torch.linalg.eigh((s + s.T) / 2.0)
    return (vecs * vals.clamp_min(0.0).sqrt()) @ vecs.T


def _trace_sqrt_product_eigh(s1: np.ndarray, s2: np.ndarray) -> float:
    t1, t2 = torch.from_numpy(s1), torch.from_numpy(s2)
    root1 = _psd_sqrt(t1)
    inner = root1 @ t2 @ root1
    vals = torch.linalg.eigvalsh((inner + inner.T) / 2.0)
    return float(vals.clamp_min(0.0).sqrt().sum())


def _trace_sqrt_product_sqrtm(s1: np.ndarray, s2: np.ndarray, eps: float) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(np.diagonal(covmean).imag).max(initial=0.0)
        scale = max(1.0, np.abs(np.diagonal(covmean).real).max(initial=0.0))
        if imag > 1e-3 * scale:
            raise ValueError(f"sqrtm gave a significant imaginary component ({imag:.3g})")
        covmean = covmean.real
    return float(np.trace(covmean))
