"""Improved precision/recall: k-NN radii exclude the point itself; modes dropped cost recall."""

import numpy as np
import pytest
import torch

from pixelforge.metrics.precision_recall import knn_radii, precision_recall


def test_knn_radius_skips_the_point_itself():
    pts = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    # neighbours of 0: 1 (d=1), 3 (d=3), 7 -> 2nd nearest other point is at squared distance 9
    assert knn_radii(pts, k=2).tolist() == [9.0, 4.0, 9.0, 36.0]
    with pytest.raises(ValueError):
        knn_radii(pts, k=4)


def test_same_distribution_scores_high():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))
    p, r = precision_recall(real, fake, k=3)
    assert p > 0.9 and r > 0.9


def test_mode_collapse_keeps_precision_and_loses_recall():
    rng = np.random.default_rng(1)
    modes = np.array([[-10.0, 0.0], [10.0, 0.0]])
    real = modes[rng.integers(0, 2, 1000)] + rng.normal(size=(1000, 2))
    fake = modes[0] + rng.normal(size=(1000, 2))  # only the left mode
    p, r = precision_recall(real, fake, k=3)
    assert p > 0.9
    assert 0.35 < r < 0.65


def test_disjoint_sets_score_zero_and_sizes_are_equalised():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(300, 8)), rng.normal(size=(120, 8)) + 50
    assert precision_recall(real, fake) == (0.0, 0.0)
    assert precision_recall(real, real[:120] + 0.0, max_samples=50, seed=3)[0] > 0.5
