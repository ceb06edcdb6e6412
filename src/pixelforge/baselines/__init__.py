"""Classical restoration baselines (OpenCV, BM3D, PIL) that the neural models are measured against."""

from pixelforge.baselines.classical import (
    BASELINES,
    NLMEANS_H,
    bm3d_denoise,
    gaussian_denoise,
    inpaint_ns,
    inpaint_telea,
    nlmeans,
    nlmeans_h,
    upscale_bicubic,
    upscale_lanczos,
)

__all__ = ["BASELINES", "NLMEANS_H", "bm3d_denoise", "gaussian_denoise", "inpaint_ns",
           "inpaint_telea", "nlmeans", "nlmeans_h", "upscale_bicubic", "upscale_lanczos"]
