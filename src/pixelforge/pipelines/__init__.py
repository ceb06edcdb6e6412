"""Inference pipelines: sampling loop, generation, latent walks, autoencoders, ONNX export.

No training code here. `PIPELINES` maps the name written in a checkpoint's model_index.json to
the Pipeline class `pixelforge.load` returns; it holds the pipeline each model kind declares
(pixelforge.kinds), imported on the first lookup.
"""

from pixelforge.pipelines.autoencode import AutoencodePipeline
from pixelforge.pipelines.base import PIPELINES, Pipeline, register_pipeline
from pixelforge.pipelines.export import export_onnx
from pixelforge.pipelines.generate import GeneratePipeline, grid_rows, save_grid, save_images
from pixelforge.pipelines.interpolate import interpolate, save_animation, slerp
from pixelforge.pipelines.sampling import generate_images, iter_generate

__all__ = ["PIPELINES", "AutoencodePipeline", "GeneratePipeline", "Pipeline", "export_onnx",
           "generate_images", "grid_rows", "interpolate", "iter_generate", "register_pipeline",
           "save_animation", "save_grid", "save_images", "slerp"]
