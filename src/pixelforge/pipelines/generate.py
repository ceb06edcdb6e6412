"""Write generated images: one grid PNG or one PNG per image, deterministically."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import make_grid

from pixelforge.models.base import to_pil, to_uint8


def grid_rows(n: int) -> int:
    """Images per row for a near-square grid."""
    return max(1, math.ceil(math.sqrt(n)))


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """[N, C, H, W] in [-1, 1] -> one PIL image tiling them."""
    grid = make_grid(to_uint8(images), nrow=nrow or grid_rows(len(images)), padding=padding,
                     pad_value=0)  # [C', H', W'] uint8 (make_grid repeats 1-channel to 3)
    return Image.fromarray(grid.permute(1, 2, 0).numpy())


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(images, nrow).save(path)
    return path


def save_images(images: torch.Tensor, directory: str | Path, prefix: str = "sample") -> list[Path]:
    """One PNG per image, named `<prefix>-0000.png`, ..."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, im in enumerate(to_pil(images)):
        p = directory / f"{prefix}-{i:04d}.png"
        im.save(p)
        paths.append(p)
    return paths
