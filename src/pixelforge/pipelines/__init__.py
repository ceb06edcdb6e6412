"""Inference pipelines: sample grids, single images, latent walks, ONNX export. No training code here."""

from pixelforge.pipelines.export import export_onnx
from pixelforge.pipelines.generate import grid_rows, save_grid, save_images
from pixelforge.pipelines.interpolate import interpolate, save_animation, slerp

__all__ = ["export_onnx", "grid_rows", "interpolate", "save_animation", "save_grid", "save_images", "slerp"]
