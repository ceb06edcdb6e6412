"""Colourisation that keeps the input's luma: a U-Net predicting chroma only from the luma of
colour photos (pairs made on the fly, as pix2pix colourisation), with an L1 on chroma and a
conditional PatchGAN; `pixelforge colorize` serves it on image files."""

from pixelforge.kinds import Kind

KIND = Kind(
    name="colorize",
    models=("pixelforge.models.colorizer",),
    task="pixelforge.training.colorize:ColorizeTask",
    data="pixelforge.data.translation:build_translation_pairs",
    pipeline="colorize",
    pipeline_class="pixelforge.pipelines.colorize:ColorizePipeline",
    evaluator="pixelforge.metrics.translation_eval:evaluate_translation",
    eval_split="test",
    studio=("restore",),
    config=("translation", "pixelforge.config:TranslationConfig"),
)
