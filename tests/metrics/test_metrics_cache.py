"""Real-data stats cache: a hit is identical and skips the feature pass; keys are complete."""

import numpy as np
import pytest

from pixelforge.metrics import cache
from pixelforge.metrics.cache import real_feature_stats, stats_key
from pixelforge.metrics.frechet import feature_stats


@pytest.fixture
def counted(monkeypatch):
    """Counts calls to the expensive feature pass behind the cache."""
    calls = []
    real_extract = cache.extract_features

    def counting(*args, **kwargs):
        calls.append(1)
        return real_extract(*args, **kwargs)

    monkeypatch.setattr(cache, "extract_features", counting)
    return calls


def test_hit_is_identical_and_skips_the_feature_pass(untrained_extractor, mnist_ds, counted):
    real = mnist_ds("test", 300)
    first = real_feature_stats(real, untrained_extractor, n_real=None, seed=0, batch_size=128,
                               resize_filter="bicubic")
    assert len(counted) == 1 and not first.from_cache and first.n == 300
    second = real_feature_stats(real, untrained_extractor, n_real=None, seed=0, batch_size=128,
                                resize_filter="bicubic")
    assert len(counted) == 1 and second.from_cache
    np.testing.assert_array_equal(first.mu, second.mu)
    np.testing.assert_array_equal(first.sigma, second.sigma)
    np.testing.assert_array_equal(first.features, second.features)
    assert second.mu.dtype == np.float64 and second.features.dtype == np.float32
    mu, sigma = feature_stats(first.features)  # all 300 rows are kept
    np.testing.assert_allclose(mu, first.mu, rtol=1e-5, atol=1e-6)


def test_every_option_changes_the_key(untrained_extractor, mnist_ds, counted):
    real = mnist_ds("test", 200)
    base = dict(n_real=100, seed=0, resize_filter="bicubic")
    key = stats_key(real, untrained_extractor, **base)
    changed = [
        stats_key(real, untrained_extractor, **{**base, "n_real": 150}),
        stats_key(real, untrained_extractor, **{**base, "n_real": None}),
        stats_key(real, untrained_extractor, **{**base, "seed": 1}),
        stats_key(real, untrained_extractor, **{**base, "resize_filter": "lanczos"}),
        stats_key(mnist_ds("test", 201), untrained_extractor, **base),
    ]
    assert len(set(changed)) == len(changed) and key not in changed
    stats = real_feature_stats(real, untrained_extractor, **base)
    assert stats.n == 100 and stats.key == key
    real_feature_stats(real, untrained_extractor, **{**base, "n_real": 150})
    assert len(counted) == 2  # a different option is a miss, not a stale hit


def test_extractor_is_part_of_the_key(untrained_extractor, mnist_ds):
    import dataclasses

    from pixelforge.metrics.extractor import Extractor

    real = mnist_ds("test", 50)
    other_spec = dataclasses.replace(untrained_extractor.spec, epochs=5)
    other = Extractor(other_spec, untrained_extractor.model, {}, untrained_extractor.folder,
                      from_cache=False)
    opts = dict(n_real=None, seed=0, resize_filter=None)
    assert stats_key(real, other, **opts) != stats_key(real, untrained_extractor, **opts)


def test_lazy_data_sets_give_the_same_stats(untrained_extractor, mnist_ds):
    eager = real_feature_stats(mnist_ds("test", 64), untrained_extractor, batch_size=32)
    lazy = real_feature_stats(mnist_ds("test", 64, lazy=True), untrained_extractor, batch_size=32)
    np.testing.assert_allclose(eager.mu, lazy.mu, rtol=1e-6)
