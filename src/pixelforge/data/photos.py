"""Folders of photos as restoration and translation use them: the sorted image files of a folder
(or of its split subfolder), and one photo read as uint8 pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pixelforge.core.formats import is_image_file
from pixelforge.errors import UserError


def photo_files(folder: str | Path, split: str = "train") -> list[Path]:
    """Image files of `folder` (or of its `split` subfolder when it has one), sorted by name."""
    root = Path(folder)
    if (root / split).is_dir():
        root = root / split
    if not root.is_dir():
        raise UserError(f"data.path {str(folder)!r}: restoration training needs a folder of photos "
                        "or an .npz of them")
    files = sorted(f for f in root.iterdir() if is_image_file(f))
    if not files:
        raise UserError(f"data.path {str(folder)!r}: no image files in {root}")
    return files


def npz_photos(path: Path, key: str | None, split: str, channels: int) -> list[np.ndarray]:
    """The pictures of an .npz (uint8 [N, H, W, C], chosen as training data is) as [H, W, C]
    uint8 photos with `channels` channels: gray repeated to RGB, RGB to BT.601 luma, alpha
    dropped."""
    from pixelforge.data.npz_source import read_npz_images

    arr = read_npz_images(path, key, split)
    arr = arr[..., :3] if arr.shape[-1] in (3, 4) else arr[..., :1]
    if channels == 3 and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif channels == 1 and arr.shape[-1] == 3:
        luma = arr.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        arr = np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
    return list(arr)


def read_photo(path: Path, channels: int) -> np.ndarray:
    """The photo at `path` as [H, W, C] uint8, gray (C=1) or RGB (C=3); UserError naming the file
    when it cannot be read."""
    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            a = np.asarray(im)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read image ({exc})") from None
    return a[..., None] if a.ndim == 2 else a  # [H, W, C] uint8
