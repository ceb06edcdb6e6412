"""pixelforge: train, sample, evaluate and share neural image generators."""

from __future__ import annotations

__version__ = "0.1.0"

from pixelforge.api import load  # noqa: E402

__all__ = ["__version__", "load"]
