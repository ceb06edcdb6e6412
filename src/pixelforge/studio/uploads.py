"""Uploaded images (PIL, already checked by studio/safety.py) as the tensors pipelines take."""

from __future__ import annotations

import numpy as np
import torch

from pixelforge.core.images import to_float


def image_tensor(image, size: int, channels: int) -> torch.Tensor:
    """A PIL image -> float [C, S, S] in [-1, 1], resized (Lanczos) and converted like the data."""
    from PIL import Image

    im = image.convert("L" if channels == 1 else "RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(im)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # [C, S, S]
    return to_float(torch.from_numpy(arr.copy()))


def rgb_batch(image) -> torch.Tensor:
    """A PIL image at its own size -> float [1, 3, H, W] in [-1, 1]."""
    rgb = np.asarray(image.convert("RGB"))  # [H, W, 3]
    return to_float(torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None])


def mask_batch(mask) -> torch.Tensor:
    """A PIL mask (255 = hole) -> float [1, 1, H, W], 1 where the hole is."""
    return torch.from_numpy((np.asarray(mask.convert("L")) > 127).astype(np.float32))[None, None]
