"""Reference FDs quoted beside every score: untrained generator (ceiling), real vs real (floor)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from pixelforge.metrics.cache import RealStats
from pixelforge.metrics.extractor import Extractor
from pixelforge.metrics.frechet import feature_stats, frechet_distance
from pixelforge.metrics.images import float_batches, sample_indices
from pixelforge.metrics.registry import Score
from pixelforge.pipelines.generate import GeneratePipeline

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


def stream_features(extractor: Extractor, chunks: Iterable[torch.Tensor], *,
                    keep_images: bool = False) -> tuple[np.ndarray, torch.Tensor | None]:
    """Extractor features [N, D] of image batches as they are generated (each batch is dropped
    after its features unless keep_images, then also the images [N, C, H, W])."""
    feats, kept = [], []
    for chunk in chunks:  # the generator runs here, with the caller's threads
        feats.append(extractor.features(chunk, len(chunk)))
        if keep_images:
            kept.append(chunk)
    features = np.concatenate(feats) if feats else np.zeros((0, extractor.spec.feature_dim),
                                                            np.float32)
    return features, (torch.cat(kept) if kept else None)


def image_batches(source, n: int, *, seed: int, batch_size: int,
                  labels: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
    """[b, C, H, W] batches in [-1, 1] of n images from `source`: a generate pipeline or a
    Generator network (sampled batch by batch by the pipeline's iter_generate), or any object
    whose own `generate(n, seed=, batch_size=, labels=)` returns them (benchmarks score real
    images or resized views so)."""
    kw = {"labels": labels} if labels is not None else {}
    if not isinstance(source, GeneratePipeline) and callable(getattr(source, "generate", None)):
        yield from torch.split(source.generate(n, seed=seed, batch_size=batch_size, **kw),
                               batch_size)
        return
    if not isinstance(source, GeneratePipeline):  # a generator network
        source = GeneratePipeline({"generator": source})
    yield from source.iter_generate(n, seed, batch_size=batch_size, **kw)


def untrained_features(generator, extractor: Extractor, *, n: int, seed: int,
                       batch_size: int) -> np.ndarray | None:
    """Features of n images of an untrained twin of `generator` (None: it cannot be rebuilt)."""
    try:
        fresh = untrained_copy(generator, seed)
    except Exception as exc:  # a custom generator whose config cannot rebuild it
        log.warning("no untrained-generator baseline: cannot rebuild %s (%s)",
                    type(generator).__name__, exc)
        return None
    return stream_features(extractor, image_batches(fresh, n, seed=seed,
                                                    batch_size=batch_size))[0]


def fd_untrained(features: np.ndarray, generator_name: str, real: RealStats, *,
                 seed: int) -> Score:
    """FD of an untrained twin's image features against the real statistics: the ceiling."""
    mu, sigma = feature_stats(features)
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
