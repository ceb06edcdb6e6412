"""VAE-GAN: a VAE whose decoder is also trained against a discriminator (Larsen et al. 2016)."""

from pixelforge.kinds._shared import generative

KIND = generative(
    "vae-gan", models=("pixelforge.models.vae_gan",), task="pixelforge.training.vae:VAEGANTask",
    pipeline="autoencode", pipeline_class="pixelforge.pipelines.autoencode:AutoencodePipeline",
    evaluator="pixelforge.metrics.kinds:vae_scores",
)
