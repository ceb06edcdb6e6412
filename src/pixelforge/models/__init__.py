"""Model families; importing this package registers every built-in family in MODELS."""

from pixelforge.models import cnn, dcgan, seed_dcgan, vae, vae_gan  # noqa: F401  (registers)
from pixelforge.models.base import MODELS, Family, Generator, PixelforgeModule, register_family

__all__ = ["MODELS", "Family", "Generator", "PixelforgeModule", "register_family"]
