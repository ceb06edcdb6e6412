"""Decode one image file with PIL into uint8 [C, S, S], so folders and CelebA share one policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from pixelforge.data.options import LoadOptions

PIL_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "lanczos": Image.Resampling.LANCZOS,
    "nearest": Image.Resampling.NEAREST,
}
_EXIF_ORIENTATION = 0x0112


def decode_image(path: Path, opts: LoadOptions) -> torch.Tensor:
    """Read `path` and return uint8 [channels, image_size, image_size]; raises on bad files.

    Any PIL mode and size is accepted. EXIF orientation is applied; palettes are expanded; alpha
    (RGBA, LA, PA, transparent palettes) is composited onto white; 16-bit images are scaled to
    8 bits. The image is then converted to L or RGB, centre-cropped to the square of its shorter
    side and resized to `image_size` with the requested filter: the same result as resizing the
    shorter side to `image_size` and centre-cropping, minus one rounding step. JPEGs use PIL's
    draft mode (DCT downscaling, never below `image_size`) to decode large photos fast.
    """
    size = opts.image_size
    with Image.open(path) as img:
        if img.format == "JPEG":
            img.draft(img.mode, (size, size))  # DCT-domain downscale, still >= size per side
        img = upright(img)
        img = to_channels(img, opts.channels)
        img = crop_resize(img, size, PIL_FILTERS[opts.resize_filter])
        array = np.asarray(img)
    if array.shape[:2] != (size, size):
        raise ValueError(f"decoded to an unexpected shape {array.shape}")
    return torch.from_numpy(array.reshape(size, size, -1).copy()).permute(2, 0, 1).contiguous()


def probe_image(path: Path) -> None:
    """Cheap validity check (header only): raises if PIL cannot identify the file."""
    with Image.open(path) as img:
        width, height = img.size
    if width < 1 or height < 1:
        raise ValueError(f"empty image ({width}x{height})")


def failure_reason(exc: BaseException) -> str:
    """One short line describing why a file could not be used."""
    text = " ".join(str(exc).split()) or "no message"
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{type(exc).__name__}: {text}"


def upright(img: Image.Image) -> Image.Image:
    """The image turned as its EXIF Orientation tag says (a phone photo stands upright)."""
    if img.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        return ImageOps.exif_transpose(img)
    return img


def to_channels(img: Image.Image, channels: int) -> Image.Image:
    """Any mode -> "L" (channels=1) or "RGB" (channels=3); alpha goes onto white."""
    img = _to_8bit(img)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img).convert("RGB")
    want = "L" if channels == 1 else "RGB"
    return img if img.mode == want else img.convert(want)


def _to_8bit(img: Image.Image) -> Image.Image:
    """Scale 16-bit integer modes to 0-255 and clip float mode "F" to 0-255."""
    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.asarray(img, dtype=np.float64)
        if img.mode.startswith("I;16") or values.max(initial=0) > 255:
            values = values / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    return img


def crop_resize(img: Image.Image, size: int, resample: Image.Resampling) -> Image.Image:
    """The centre square of `img`, resized to size x size with `resample`."""
    width, height = img.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    box = (left, top, left + side, top + side)
    if side == size:
        return img.crop(box) if (width, height) != (size, size) else img
    return img.resize((size, size), resample=resample, box=box)
