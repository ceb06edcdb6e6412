"""Frechet distance: zero on itself, monotone in noise, the closed form, singular covariances."""

import numpy as np
import pytest

from pixelforge.metrics.frechet import feature_stats, frechet_distance


def _closed_form(mu1, var1, mu2, var2):
    """FD of two Gaussians whose covariances share eigenvectors, from their eigenvalues."""
    return float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(var1) - np.sqrt(var2)) ** 2).sum())


def test_feature_stats_match_numpy():
    x = np.random.default_rng(0).normal(size=(300, 7)).astype(np.float32)
    mu, sigma = feature_stats(x)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, x.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-10)
    with pytest.raises(ValueError):
        feature_stats(x[:1])


@pytest.mark.parametrize("method", ["eigh", "sqrtm"])
def test_itself_is_zero_and_noise_increases_it(method):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 32)) @ rng.normal(size=(32, 32))
    stats = feature_stats(x)
    assert frechet_distance(*stats, *stats, method=method) == pytest.approx(0.0, abs=1e-6)
    noise = rng.normal(size=x.shape)
    values = [frechet_distance(*stats, *feature_stats(x + s * noise), method=method)
              for s in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values


@pytest.mark.parametrize("method", ["eigh", "sqrtm"])
def test_closed_form_diagonal(method):
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    var1, var2 = rng.uniform(0.1, 3.0, 16), rng.uniform(0.1, 3.0, 16)
    got = frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2), method=method)
    assert got == pytest.approx(_closed_form(mu1, var1, mu2, var2), rel=1e-9)


@pytest.mark.parametrize("method", ["eigh", "sqrtm"])
def test_closed_form_rotated(method):
    """Shared but non-axis-aligned eigenvectors: a full covariance with a known answer."""
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(24, 24)))
    var1, var2 = rng.uniform(0.1, 2.0, 24), rng.uniform(0.1, 2.0, 24)
    s1, s2 = q @ np.diag(var1) @ q.T, q @ np.diag(var2) @ q.T
    mu1, mu2 = rng.normal(size=24), rng.normal(size=24)
    got = frechet_distance(mu1, s1, mu2, s2, method=method)
    assert got == pytest.approx(_closed_form(mu1, var1, mu2, var2), rel=1e-7)


def test_one_dimensional_gaussians():
    # |1 - 4|^2 + (sqrt(4) - sqrt(9))^2 = 9 + 1
    assert frechet_distance([1.0], [[4.0]], [4.0], [[9.0]]) == pytest.approx(10.0)


def test_singular_covariances_are_finite_and_agree():
    """Fewer samples than dimensions (rank-deficient covariances), as with tiny n_generated."""
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(40, 128)), rng.normal(size=(40, 128)) + 0.5
    sa, sb = feature_stats(a), feature_stats(b)
    eigh = frechet_distance(*sa, *sb, method="eigh")
    sqrtm = frechet_distance(*sa, *sb, method="sqrtm")
    assert np.isfinite(eigh) and eigh > 0
    assert eigh == pytest.approx(sqrtm, rel=1e-4)
    zero = np.zeros((128, 128))  # constant features: all-zero covariance
    assert frechet_distance(sa[0], zero, sa[0], zero) == 0.0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(3), method="magic")
