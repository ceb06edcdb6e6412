"""VAEs (vae, beta-vae, cvae): an encoder and a decoder trained on the ELBO; they sample,
encode, decode and walk between images, and are scored as generators plus likelihood bounds."""

from pixelforge.kinds._shared import generative

KIND = generative(
    "vae", models=("pixelforge.models.vae",), task="pixelforge.training.vae:VAETask",
    pipeline="autoencode", pipeline_class="pixelforge.pipelines.autoencode:AutoencodePipeline",
    evaluator="pixelforge.metrics.kinds:vae_scores",
)
