"""The one set of image conversions: uint8 <-> float in [-1, 1], PIL images, grids, PNG files.

Data loading, training previews, metrics and pipelines all use these, so a training progress grid
and a `pixelforge sample` grid of the same images are byte-identical.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch
from PIL import Image

from pixelforge.core.files import atomic_write_bytes

GRID_PADDING = 2  # black pixels between grid tiles


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (any shape) -> float32 in [-1, 1], as x / 127.5 - 1 (a new tensor)."""
    return images.to(torch.float32).div(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float images in [-1, 1] (any shape) -> uint8, round to nearest; exact inverse of to_float."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """[N, C, H, W] in [-1, 1] (C = 1 or 3) -> N PIL images ("L" or "RGB")."""
    arr = to_uint8(images).permute(0, 2, 3, 1).numpy()  # [N, H, W, C]
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arr]


def grid_rows(n: int) -> int:
    """Images per row for a near-square grid of n images."""
    return max(1, math.ceil(math.sqrt(n)))


def grid_tensor(images: torch.Tensor, nrow: int | None = None) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> uint8 [3, H', W'] tiling them row by row, GRID_PADDING black
    pixels around every tile (gray repeated to RGB). Written here rather than with torchvision's
    make_grid to keep its multi-second import out of `pixelforge sample`."""
    tiles = to_uint8(images)  # [N, C, H, W]
    if tiles.shape[1] == 1:
        tiles = tiles.expand(-1, 3, -1, -1)
    n, c, h, w = tiles.shape
    cols = min(nrow or grid_rows(n), n)
    rows = math.ceil(n / cols)
    p = GRID_PADDING
    grid = torch.zeros(c, rows * (h + p) + p, cols * (w + p) + p, dtype=torch.uint8)
    for i in range(n):
        top, left = (i // cols) * (h + p) + p, (i % cols) * (w + p) + p
        grid[:, top:top + h, left:left + w] = tiles[i]
    return grid


def grid_image(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """[N, C, H, W] in [-1, 1] -> one PIL image tiling them, nrow per row (near-square default)."""
    return Image.fromarray(grid_tensor(images, nrow).permute(1, 2, 0).numpy())


def encode_image(image: Image.Image, suffix: str = ".png", **params) -> bytes:
    """A PIL image as the bytes of an image file of the format named by `suffix`; `params` go to
    Pillow's save (e.g. icc_profile, exif, dpi)."""
    buf = io.BytesIO()
    fmt = Image.registered_extensions().get(suffix.lower(), "PNG")
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def save_image(image: Image.Image, path: str | Path) -> Path:
    """Write one PIL image atomically, in the format its file name says."""
    path = Path(path)
    atomic_write_bytes(path, encode_image(image, path.suffix))
    return path


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Write [N, C, H, W] in [-1, 1] as one grid image file (written atomically)."""
    return save_image(grid_image(images, nrow), path)


def save_images(images: torch.Tensor, directory: str | Path, prefix: str = "sample",
                start: int = 0) -> list[Path]:
    """One PNG per image, named `<prefix>-0000.png`, ... numbered from `start` (for streaming)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, im in enumerate(to_pil(images), start=start):
        paths.append(save_image(im, directory / f"{prefix}-{i:04d}.png"))
    return paths


LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma weights (as PIL and the SR literature)


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] RGB in [-1, 1] -> [N, 1, H, W] BT.601 luma in [-1, 1] (1 channel: as is)."""
    if x.shape[1] == 1:
        return x
    w = x.new_tensor(LUMA).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)
