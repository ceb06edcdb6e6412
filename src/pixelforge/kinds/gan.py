"""GANs: a generator from latent noise, trained against a discriminator on unlabelled (or
class-labelled) images; sampled, walked and scored in a classifier's features."""

from pixelforge.kinds._shared import generative

KIND = generative(
    "gan",
    models=("pixelforge.models.dcgan", "pixelforge.models.seed_dcgan",
            "pixelforge.models.resnet_gan", "pixelforge.models.stylegan_lite"),
    task="pixelforge.training.gan:GANTask",
    pipeline="generate", pipeline_class="pixelforge.pipelines.generate:GeneratePipeline",
    evaluator="pixelforge.metrics.kinds:generative_scores",
)
