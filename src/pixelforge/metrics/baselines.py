"""Reference FDs quoted beside every score: untrained generator (ceiling), real vs real (floor)."""

from __future__ import annotations

import inspect
import logging

import torch

from pixelforge.metrics.cache import RealStats
from pixelforge.metrics.extractor import Extractor
from pixelforge.metrics.frechet import feature_stats, frechet_distance
from pixelforge.metrics.images import float_batches, sample_indices
from pixelforge.metrics.registry import Score

log = logging.getLogger("pixelforge.metrics")


def untrained_copy(generator, seed: int):
    """A freshly initialised generator of the same class and constructor config (seeded init)."""
    config = dict(getattr(generator, "_hub_mixin_config", None) or {})
    params = inspect.signature(type(generator)).parameters
    config = {k: v for k, v in config.items() if k in params}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = type(generator)(**config)
    device = next(generator.parameters()).device
    return fresh.to(device).eval()


def untrained_images(generator, *, n: int, seed: int, batch_size: int) -> torch.Tensor | None:
    """n images from an untrained twin of `generator` (None when it cannot be rebuilt)."""
    try:
        fresh = untrained_copy(generator, seed)
    except Exception as exc:  # a custom generator whose config cannot rebuild it
        log.warning("no untrained-generator baseline: cannot rebuild %s (%s)",
                    type(generator).__name__, exc)
        return None
    return fresh.generate(n, seed=seed, batch_size=batch_size)


def fd_untrained(images: torch.Tensor, generator_name: str, extractor: Extractor,
                 real: RealStats, *, seed: int, batch_size: int) -> Score:
    """FD of an untrained twin's images against the real statistics: the ceiling."""
    mu, sigma = feature_stats(extractor.features(images, batch_size))
    value = frechet_distance(mu, sigma, real.mu, real.sigma)
    return Score("fd_cnn/untrained_generator", "fd_untrained", value,
                 {"baseline": f"freshly initialised {generator_name} (seed {seed})"})


def fd_real_vs_real(other, other_split: str, real_split: str, extractor: Extractor,
                    real: RealStats, *, n: int, seed: int, batch_size: int) -> Score:
    """FD of n real images from the other split against the real statistics: the floor a
    perfect generator would reach with the same number of samples."""
    indices = sample_indices(len(other), n, seed)
    feats = extractor.features_of_batches(float_batches(other, indices, batch_size))
    mu, sigma = feature_stats(feats)
    value = frechet_distance(mu, sigma, real.mu, real.sigma)
    return Score("fd_cnn/real_vs_real", "fd_real_vs_real", value,
                 {"baseline": f"real {other_split} split vs real {real_split} split",
                  "n_generated": len(indices), "heldout_fingerprint": other.fingerprint})
