"""Improved precision and recall from k-NN radii in feature space (Kynkaanniemi et al. 2019)."""

from __future__ import annotations

import numpy as np
import torch

from pixelforge.metrics.threads import torch_threads

DEFAULT_K = 3
_ROWS = 1024  # distance rows computed at once, to bound memory


def _pairwise_sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances [len(a), len(b)], clamped at 0."""
    d = (a * a).sum(1, keepdim=True) - 2.0 * a @ b.T + (b * b).sum(1)
    return d.clamp_min_(0.0)


def knn_radii(feats: torch.Tensor, k: int) -> torch.Tensor:
    """Squared distance from each row to its k-th nearest other row (the point itself excluded)."""
    if len(feats) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} samples, got {len(feats)}")
    radii = []
    for i in range(0, len(feats), _ROWS):
        d = _pairwise_sq(feats[i : i + _ROWS], feats)
        # the k + 1 smallest include the point itself (distance 0); topk beats kthvalue on CPU
        radii.append(d.topk(k + 1, dim=1, largest=False).values[:, -1])
    return torch.cat(radii)


def coverage_fraction(queries: torch.Tensor, support: torch.Tensor, radii: torch.Tensor) -> float:
    """Fraction of query rows inside at least one support row's k-NN ball."""
    inside = 0
    for i in range(0, len(queries), _ROWS):
        d = _pairwise_sq(queries[i : i + _ROWS], support)
        inside += int((d <= radii[None, :]).any(dim=1).sum())
    return inside / len(queries)


@torch_threads()
def precision_recall(
    real: np.ndarray, fake: np.ndarray, *, k: int = DEFAULT_K, max_samples: int | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """(precision, recall): precision is the share of fake samples inside the real manifold
    (union of real k-NN balls), recall the share of real samples inside the fake manifold.
    Both sets are subsampled (seeded) to the same size, at most `max_samples`, as in the paper."""
    n = min(len(real), len(fake), max_samples or max(len(real), len(fake)))
    rng = np.random.default_rng(seed)
    r = torch.from_numpy(np.asarray(real, np.float32)[np.sort(rng.permutation(len(real))[:n])])
    f = torch.from_numpy(np.asarray(fake, np.float32)[np.sort(rng.permutation(len(fake))[:n])])
    precision = coverage_fraction(f, r, knn_radii(r, k))
    recall = coverage_fraction(r, f, knn_radii(f, k))
    return precision, recall
