"""Inference pipelines: sample grids, single images, latent walks. No training code here."""

from pixelforge.pipelines.generate import grid_rows, save_grid, save_images
from pixelforge.pipelines.interpolate import interpolate, save_animation, slerp

__all__ = ["grid_rows", "interpolate", "save_animation", "save_grid", "save_images", "slerp"]
