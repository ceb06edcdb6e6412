"""Model families; importing this package registers every built-in family in MODELS."""

from pixelforge.models import (  # noqa: F401  (importing registers each family)
    cnn,
    dcgan,
    resnet_gan,
    seed_dcgan,
    stylegan_lite,
    vae,
    vae_gan,
)
from pixelforge.models.base import MODELS, Family, Generator, PixelforgeModule, register_family

__all__ = ["MODELS", "Family", "Generator", "PixelforgeModule", "register_family"]
