"""The MERF generator: DCGAN's generator (any size, class-conditional or not) under its own
family name, trained by training/merf.py against a mean embedding instead of a discriminator."""

from pixelforge.models.base import register_family
from pixelforge.models.dcgan import DCGANGenerator


class MERFGenerator(DCGANGenerator):
    """DCGANGenerator, registered as family "merf" (the saved family name picks the kind)."""


register_family("merf", kind="merf", generator=MERFGenerator)
