"""The VAE part of `pixelforge eval`; kept as an import path, the code is in metrics/kinds.py."""

from pixelforge.metrics.kinds import autoencoder_scores

__all__ = ["autoencoder_scores"]
