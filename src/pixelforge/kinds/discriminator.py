"""Stand-alone discriminators (PatchGAN), built by the translation and restoration tasks."""

from pixelforge.kinds import Kind

KIND = Kind(name="discriminator", models=("pixelforge.models.patchgan",))
