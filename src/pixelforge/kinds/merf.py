"""MERF (and, with a `privacy` section, DP-MERF): a generator trained without a discriminator to
match the data's mean embedding in random Fourier features; private data is read once, for one
noisy release. Sampled, walked and scored as the GANs are."""

from pixelforge.kinds._shared import generative

KIND = generative("merf", models=("pixelforge.models.merf",),
                  task="pixelforge.training.merf:MERFTask",
                  config=("merf", "pixelforge.config:MERFConfig"))
