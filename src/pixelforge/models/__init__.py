"""Model families; importing this package registers every built-in family in MODELS."""

from pixelforge.models import (  # noqa: F401  (importing registers each family)
    cnn,
    dcgan,
    dncnn,
    inpaint_unet,
    patchgan,
    resnet_gan,
    resnet_translator,
    seed_dcgan,
    srresnet,
    stylegan_lite,
    unet,
    vae,
    vae_gan,
)
from pixelforge.models.base import MODELS, Family, Generator, PixelforgeModule, register_family

__all__ = ["MODELS", "Family", "Generator", "PixelforgeModule", "register_family"]
