"""The one list of image-file suffixes pixelforge reads, shared by data folders, file jobs,
restoration data and evaluation, and studio uploads (all decode with Pillow, which reads them all)."""

from __future__ import annotations

from pathlib import Path

# Suffixes (lower case) of files taken as images when a folder is scanned. Pillow decodes each;
# 16-bit colour PNG/TIFF go through OpenCV where a reader needs the full depth.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp",
                                   ".gif", ".ppm", ".pgm")
# Suffixes a single generated picture (a grid, a decoded or sampled image) may be written as.
PICTURE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")


def is_image_file(path: str | Path) -> bool:
    """True when the name ends in one of IMAGE_SUFFIXES (any case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
