"""Real-data feature statistics (FID mean/covariance, Heusel 2017, plus a sample), disk-cached."""

# The cache key hashes everything the statistics depend on (data fingerprint, extractor hash,
# n_real, sampling seed, image size, channels, resize filter, sample cap): never a stale entry.

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import numpy as np
import torch

from pixelforge.checkpoint import load_state, save_state
from pixelforge.errors import UserError
from pixelforge.metrics.extractor import Extractor
from pixelforge.metrics.frechet import feature_stats
from pixelforge.metrics.images import float_batches, sample_indices
from pixelforge.metrics.paths import stats_dir

log = logging.getLogger("pixelforge.metrics")

STATS_VERSION = 1
MAX_KEPT_FEATURES = 10_000  # rows kept for KID and precision/recall (the mean/cov use all)


@dataclass(frozen=True)
class RealStats:
    """Mean [D] and covariance [D, D] (float64) of n real images' features, and a feature sample."""

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray  # float32 [min(n, MAX_KEPT_FEATURES), D]
    n: int
    key: str
    from_cache: bool = False


def stats_key(real, extractor: Extractor, *, n_real: int | None, seed: int,
              resize_filter: str | None) -> str:
    record = {
        "v": STATS_VERSION, "data_fingerprint": real.fingerprint, "extractor": extractor.spec.key,
        "n_real": n_real, "seed": seed, "image_size": real.image_size,
        "channels": real.channels, "resize_filter": resize_filter, "kept": MAX_KEPT_FEATURES,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def extract_features(extractor: Extractor, real, indices: torch.Tensor,
                     batch_size: int) -> np.ndarray:
    """cnn features of the real images at `indices` (the expensive part the cache saves)."""
    return extractor.features_of_batches(float_batches(real, indices, batch_size))


def real_feature_stats(real, extractor: Extractor, *, n_real: int | None = None,
                       seed: int = 12345, batch_size: int = 250,
                       resize_filter: str | None = None) -> RealStats:
    """Statistics of `n_real` seeded real images (all when None), from the cache when present."""
    if len(real) < 2:
        raise UserError(f"{real.description}: need at least 2 real images, found {len(real)}")
    key = stats_key(real, extractor, n_real=n_real, seed=seed, resize_filter=resize_filter)
    path = stats_dir() / f"{key}.safetensors"
    if path.is_file():
        try:
            state = load_state(path)
            return RealStats(mu=state["mu"].numpy(), sigma=state["sigma"].numpy(),
                             features=state["features"].numpy(), n=int(state["n"]), key=key,
                             from_cache=True)
        except (UserError, KeyError) as exc:
            log.warning("recomputing the unreadable statistics cache %s (%s)", path, exc)
    indices = sample_indices(len(real), n_real, seed)
    feats = extract_features(extractor, real, indices, batch_size)
    mu, sigma = feature_stats(feats)
    kept = feats[sample_indices(len(feats), MAX_KEPT_FEATURES, seed).numpy()]
    state = {"mu": torch.from_numpy(mu), "sigma": torch.from_numpy(sigma),
             "features": torch.from_numpy(np.ascontiguousarray(kept)), "n": len(feats),
             "key": key}
    try:
        save_state(path, state)
    except OSError as exc:
        log.warning("could not cache real statistics in %s (%s)", path, exc)
    return RealStats(mu=mu, sigma=sigma, features=kept, n=len(feats), key=key)
