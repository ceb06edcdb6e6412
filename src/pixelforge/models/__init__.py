"""Model families. Each family module registers itself in MODELS when imported; MODELS imports
the modules every model kind declares (pixelforge.kinds) on its first lookup."""

from pixelforge.models.base import MODELS, Family, Generator, PixelforgeModule, register_family

__all__ = ["MODELS", "Family", "Generator", "PixelforgeModule", "register_family"]
