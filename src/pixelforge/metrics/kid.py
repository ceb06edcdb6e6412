"""Kernel distance: unbiased MMD^2, cubic polynomial kernel, over subsets (KID, Binkowski 2018)."""

from __future__ import annotations

import numpy as np

DEFAULT_SUBSET_SIZE = 1000
DEFAULT_SUBSETS = 100


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3 for every pair of rows: [n, d] x [m, d] -> [n, m]."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 estimate between samples x [m, d] and y [n, d] (diagonals excluded)."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("the unbiased MMD needs at least 2 samples on each side")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


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
    a = np.asarray(feats_a, dtype=np.float64)
    b = np.asarray(feats_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two [N, D] arrays with equal D, got {a.shape} and {b.shape}")
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, not {subsets}")
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        ia = rng.choice(len(a), size, replace=False)
        ib = rng.choice(len(b), size, replace=False)
        values[i] = mmd2_unbiased(a[ia], b[ib])
    return float(values.mean()), float(values.std())
