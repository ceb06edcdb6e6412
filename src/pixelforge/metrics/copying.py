"""The statistics of a privacy audit, on feature (or pixel) vectors: nearest neighbours, the
near-copy rule of Carlini et al. 2023, the data-copying test C_T of Meehan, Chaudhuri & Dasgupta
(AISTATS 2020), and ROC figures of a membership-inference attack (AUC with a bootstrap
interval, TPR at 1% FPR)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

NEAR_COPY_RATIO = 1 / 3  # d(nearest) < ratio x mean d(50 nearest): Carlini et al. 2023's rule
NEAR_COPY_K = 50
MIN_CELL = 5  # cells with fewer generated or held-out points are left out of C_T


def nearest(query: np.ndarray, ref: np.ndarray, k: int = 1, chunk: int = 1024
            ) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances [n, k] (ascending) and indices [n, k] of each query row's k nearest
    rows of `ref`, in chunks of queries so memory stays bounded."""
    k = min(k, len(ref))
    r = torch.from_numpy(np.ascontiguousarray(ref, dtype=np.float32))
    dists, idx = [], []
    for s in range(0, len(query), chunk):
        q = torch.from_numpy(np.ascontiguousarray(query[s:s + chunk], dtype=np.float32))
        d = torch.cdist(q, r)  # [chunk, len(ref)]
        v, i = torch.topk(d, k, dim=1, largest=False)
        dists.append(v.numpy())
        idx.append(i.numpy())
    if not dists:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.concatenate(dists), np.concatenate(idx)


def near_copy_mask(dists: np.ndarray, ratio: float = NEAR_COPY_RATIO) -> np.ndarray:
    """True where the nearest distance is below `ratio` x the mean distance to the k nearest
    (dists: [n, k] ascending, k = NEAR_COPY_K where the reference set allows)."""
    return dists[:, 0] < ratio * dists.mean(axis=1)


@dataclass
class CopyingTest:
    """C_T and the per-cell Z scores (negative: generated closer to the training set than
    held-out data is, i.e. copying; positive: underfitting)."""

    c_t: float
    cells: list[dict]  # {"cell", "z", "effect", "n_generated", "n_heldout", "weight"}, most
    # copying first
    n_cells: int
    cells_used: int
    # the same weighted average of each cell's effect size U / (m n) - 0.5, in [-0.5, 0.5]:
    # unlike Z it does not grow with the number of samples (-0.5: every generated point is
    # nearer the training set than every held-out point of its cell)
    effect: float = float("nan")


def copying_test(train: np.ndarray, heldout: np.ndarray, generated: np.ndarray, *,
                 cells: int = 20, seed: int = 0) -> CopyingTest:
    """Meehan et al.'s C_T: k-means cells of the training set; in each cell a Mann-Whitney U
    test of the generated points' nearest-training distances against the held-out points';
    the cells' Z scores averaged with the held-out points' cell fractions as weights."""
    from scipy.cluster.vq import kmeans2, vq
    from scipy.stats import mannwhitneyu

    cells = max(1, min(cells, len(train) // 2, len(heldout) // 20))  # ~20 held-out per cell
    centroids, _ = kmeans2(train.astype(np.float64), cells, minit="++", seed=seed)
    gen_cell, _ = vq(generated.astype(np.float64), centroids)
    held_cell, _ = vq(heldout.astype(np.float64), centroids)
    d_gen = nearest(generated, train)[0][:, 0]
    d_held = nearest(heldout, train)[0][:, 0]
    out, total_w, acc, acc_effect = [], 0.0, 0.0, 0.0
    for j in range(len(centroids)):
        g, h = d_gen[gen_cell == j], d_held[held_cell == j]
        if len(g) < MIN_CELL or len(h) < MIN_CELL:
            continue
        u = mannwhitneyu(g, h, alternative="two-sided").statistic  # pairs with gen > held
        m, n = len(g), len(h)
        z = (u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
        w = len(h) / len(heldout)
        total_w += w
        acc += w * z
        acc_effect += w * (u / (m * n) - 0.5)
        out.append({"cell": j, "z": float(z), "effect": float(u / (m * n) - 0.5),
                    "n_generated": m, "n_heldout": n, "weight": w})
    out.sort(key=lambda c: c["z"])
    c_t = acc / total_w if total_w else float("nan")
    effect = acc_effect / total_w if total_w else float("nan")
    return CopyingTest(float(c_t), out, len(centroids), len(out), float(effect))


def roc_auc(members: np.ndarray, non_members: np.ndarray) -> float:
    """P(score of a random member > a random non-member), ties half (the Mann-Whitney AUC)."""
    from scipy.stats import rankdata

    m, n = len(members), len(non_members)
    ranks = rankdata(np.concatenate([members, non_members]))
    return float((ranks[:m].sum() - m * (m + 1) / 2) / (m * n))


def tpr_at_fpr(members: np.ndarray, non_members: np.ndarray, fpr: float = 0.01) -> float:
    """The fraction of members flagged at the threshold that flags at most `fpr` of non-members."""
    thr = np.quantile(non_members, 1 - fpr, method="higher")
    return float((members > thr).mean())


def attack_report(members: np.ndarray, non_members: np.ndarray, *, boot: int = 200,
                  seed: int = 0) -> dict:
    """AUC, its 95% bootstrap interval (members and non-members resampled), TPR at 1% FPR."""
    rng = np.random.default_rng(seed)
    aucs = [roc_auc(rng.choice(members, len(members)), rng.choice(non_members, len(non_members)))
            for _ in range(boot)]
    lo, hi = np.quantile(aucs, [0.025, 0.975])
    return {"auc": roc_auc(members, non_members), "auc_ci95": [float(lo), float(hi)],
            "tpr_at_1pct_fpr": tpr_at_fpr(members, non_members),
            "n_members": len(members), "n_non_members": len(non_members)}


def distance_summary(d: np.ndarray) -> dict:
    """Quantiles of a distance distribution, for the report."""
    q = np.quantile(d, [0.01, 0.1, 0.5, 0.9]) if len(d) else [float("nan")] * 4
    return {"p01": float(q[0]), "p10": float(q[1]), "median": float(q[2]), "p90": float(q[3]),
            "mean": float(d.mean()) if len(d) else float("nan")}
