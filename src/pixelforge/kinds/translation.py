"""Image-to-image translation: pix2pix (a U-Net on aligned pairs, or colourisation made from
photos) and CycleGAN (two ResNet generators between two unpaired sets)."""

from pixelforge.kinds import Kind

KIND = Kind(
    name="translation",
    models=("pixelforge.models.unet", "pixelforge.models.resnet_translator"),
    task={"pix2pix": "pixelforge.training.translate:Pix2PixTask",
          "cyclegan": "pixelforge.training.translate:CycleGANTask"},
    data={"pix2pix": "pixelforge.data.translation:build_translation_pairs",
          "cyclegan": "pixelforge.data.translation:build_translation_sets"},
    pipeline="translate",
    pipeline_class="pixelforge.pipelines.translate:TranslatePipeline",
    evaluator="pixelforge.metrics.translation_eval:evaluate_translation",
    eval_split="test",
    studio=("restore",),
    config=("translation", "pixelforge.config:TranslationConfig"),
)
