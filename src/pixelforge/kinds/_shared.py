"""What several built-in kinds declare alike: generators of images (GAN, VAE, VAE-GAN) and the
photo-restoration kinds (denoise, upscale, inpaint). Not a kind itself (discovery skips `_`)."""

from __future__ import annotations

from typing import Any

from pixelforge.kinds import Kind


def generative(name: str, *, models: tuple[str, ...], task: str,
               pipeline: str = "generate",
               pipeline_class: str = "pixelforge.pipelines.generate:GeneratePipeline",
               evaluator: str = "pixelforge.metrics.kinds:generative_scores",
               **extra: Any) -> Kind:
    """A kind that samples images from latents: trained on labelled or unlabelled images, on the
    studio's Generate and Interpolate pages, scored against the training split (by default
    through the `generate` pipeline and the generators' evaluator)."""
    return Kind(name=name, models=models, task=task, data="pixelforge.data.builders:build_images",
                pipeline=pipeline, pipeline_class=pipeline_class, evaluator=evaluator,
                studio=("generate", "interpolate"), **extra)


def restoration(name: str, *, model: str | tuple[str, ...], task: str, pipeline: str,
                evaluator: str, **extra: Any) -> Kind:
    """A photo-restoration kind: one network (models/<model>.py, or one of several families), a
    RestoreTask on seeded crops of photos degraded for restoration task `name`, a RestorePipeline
    of the same name, the restoration evaluator on held-out photos, the Restore page and the `restore` section."""
    models = (model,) if isinstance(model, str) else model
    return Kind(name=name, models=tuple(f"pixelforge.models.{m}" for m in models),
                task=f"pixelforge.training.restore:{task}",
                data="pixelforge.data.degraded_photos:build_degraded",
                data_options={"task": name}, pipeline=name,
                pipeline_class=f"pixelforge.pipelines.restore:{pipeline}",
                evaluator=f"pixelforge.metrics.restoration_eval:{evaluator}", eval_split="test",
                studio=("restore",), config=("restore", "pixelforge.config:RestoreConfig"),
                **extra)
