"""Kernel distance: unbiased MMD^2, cubic polynomial kernel, over subsets (KID, Binkowski 2018)."""

from __future__ import annotations

import numpy as np
import torch

from pixelforge.metrics.threads import torch_threads

DEFAULT_SUBSET_SIZE = 1000
DEFAULT_SUBSETS = 100


def polynomial_kernel(x, y):
    """k(x, y) = (x . y / d + 1)^3 for every pair of rows: [n, d] x [m, d] -> [n, m].
    Works on numpy arrays and torch tensors alike."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def _mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


@torch_threads()
def mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 estimate between samples x [m, d] and y [n, d] (diagonals excluded)."""
    if len(x) < 2 or len(y) < 2:
        raise ValueError("the unbiased MMD needs at least 2 samples on each side")
    return _mmd2(torch.as_tensor(np.asarray(x), dtype=torch.float64),
                 torch.as_tensor(np.asarray(y), dtype=torch.float64))


@torch_threads()
def kernel_distance(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    *,
    subset_size: int = DEFAULT_SUBSET_SIZE,
    subsets: int = DEFAULT_SUBSETS,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `subsets` random subsets of min(subset_size, n)
    rows from each side (drawn without replacement within a subset). Unbiased, so it can be
    slightly negative when both sets come from one distribution."""
    a = torch.as_tensor(np.asarray(feats_a), dtype=torch.float64)  # torch: one thread pool
    b = torch.as_tensor(np.asarray(feats_b), dtype=torch.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two [N, D] arrays with equal D, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("the unbiased MMD needs at least 2 samples on each side")
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, not {subsets}")
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        ia = torch.from_numpy(rng.choice(len(a), size, replace=False))
        ib = torch.from_numpy(rng.choice(len(b), size, replace=False))
        values[i] = _mmd2(a[ia], b[ib])
    return float(values.mean()), float(values.std())
