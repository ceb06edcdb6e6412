"""Inpainters on crops of photos with holes from data/masks.py: the gated-conv U-Net
(inpaint-unet) and the Fourier-convolution network for large holes (inpaint-ffc)."""

from dataclasses import replace

from pixelforge.kinds._shared import restoration

KIND = replace(restoration("inpaint", model="inpaint_unet", task="InpaintTask",
                           pipeline="InpaintPipeline", evaluator="evaluate_inpaint"),
               models=("pixelforge.models.inpaint_unet", "pixelforge.models.inpaint_ffc"))
