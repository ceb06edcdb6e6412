"""KID: the unbiased MMD^2 formula, ~0 (even < 0) for one distribution, > 0 when shifted."""

import numpy as np
import pytest

from pixelforge.metrics.kid import kernel_distance, mmd2_unbiased, polynomial_kernel


def _naive_mmd2(x, y):
    """Textbook double loops over the unbiased estimator with k(a, b) = (a.b / d + 1)^3."""
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kernel_and_estimator_match_the_textbook_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 5)), rng.normal(size=(7, 5)) + 0.3
    assert polynomial_kernel(x, y)[2, 3] == pytest.approx((x[2] @ y[3] / 5 + 1) ** 3)
    assert mmd2_unbiased(x, y) == pytest.approx(_naive_mmd2(x, y), rel=1e-10)


def test_same_distribution_is_near_zero_and_shift_is_positive():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(1500, 16)), rng.normal(size=(1500, 16))
    same, same_std = kernel_distance(a, b, subset_size=500, subsets=30, seed=0)
    small, _ = kernel_distance(a, b + 0.3, subset_size=500, subsets=30, seed=0)
    large, _ = kernel_distance(a, b + 1.0, subset_size=500, subsets=30, seed=0)
    assert abs(same) < 3 * same_std + 1e-3
    assert 0 < small < large
    assert small > 20 * abs(same)


def test_unbiased_mean_is_zero_where_the_biased_estimate_is_not():
    """Averaged over many independent draws from one distribution the estimate centres on 0 and
    some draws are negative; keeping the kernel diagonals (the V-statistic) would bias it up."""
    rng = np.random.default_rng(2)
    unbiased, biased = [], []
    for _ in range(200):
        x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
        unbiased.append(mmd2_unbiased(x, y))
        biased.append(polynomial_kernel(x, x).mean() + polynomial_kernel(y, y).mean()
                      - 2 * polynomial_kernel(x, y).mean())
    unbiased, biased = np.array(unbiased), np.array(biased)
    sem = unbiased.std() / np.sqrt(len(unbiased))
    assert abs(unbiased.mean()) < 3 * sem
    assert (unbiased < 0).sum() > 20
    assert biased.mean() > 10 * sem  # the diagonal terms would show up as a clear bias


def test_subsets_are_capped_by_the_smaller_set_and_seeded():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(50, 4)), rng.normal(size=(30, 4)) + 1
    first = kernel_distance(a, b, subset_size=1000, subsets=5, seed=7)
    assert first == kernel_distance(a, b, subset_size=1000, subsets=5, seed=7)
    # a subset of all 30 rows of b and 30 of a: with one subset the std is 0
    assert kernel_distance(a, b, subsets=1)[1] == 0.0
    with pytest.raises(ValueError):
        kernel_distance(a, b[:, :3])
