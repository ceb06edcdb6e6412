"""Metadata a user wants carried from an input photo to its restored output, and upright pixels.

Carried: the ICC profile (colours stay as the camera meant them), EXIF (camera, date, GPS, ...)
with Orientation set to 1 because the pixels are written upright, and without the embedded
thumbnail (it would show the unrestored picture), the DPI, and PNG text chunks (PNG output only).
Written where Pillow can: JPEG, PNG, WebP and TIFF take ICC + EXIF + DPI (WebP: no DPI); BMP
takes DPI only; 16-bit colour output (written by OpenCV) carries none of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

ORIENTATION = 0x0112
JPEG_EXIF_LIMIT = 65_000  # an APP1 segment holds at most 65,533 bytes


@dataclass
class Carried:
    """What an output inherits from its input file."""

    icc: bytes | None = None
    exif: bytes | None = None  # Orientation 1, no thumbnail
    dpi: tuple[float, float] | None = None
    text: dict[str, str] = field(default_factory=dict)

    def save_params(self, suffix: str) -> dict:
        """Pillow `save` keyword arguments for a `suffix` file."""
        fmt = Image.registered_extensions().get(suffix.lower(), "")
        params: dict = {}
        if fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
            if self.icc:
                params["icc_profile"] = self.icc
            if self.exif and not (fmt == "JPEG" and len(self.exif) > JPEG_EXIF_LIMIT):
                params["exif"] = self.exif
        if self.dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
            params["dpi"] = self.dpi
        if self.text and fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            for key, value in self.text.items():
                info.add_text(key, value)
            params["pnginfo"] = info
        return params


def orientation_of(im: Image.Image) -> int:
    """The EXIF Orientation tag (1-8; 1 when absent or invalid)."""
    try:
        value = int(im.getexif().get(ORIENTATION, 1))
    except (TypeError, ValueError, OSError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def carried_of(im: Image.Image) -> Carried:
    """The metadata of an opened file that an output should keep (read before any transpose)."""
    exif_bytes = None
    try:
        exif = im.getexif()  # the image's own (cached) object: put the tag back afterwards
        if len(exif):
            turned = exif.get(ORIENTATION)
            if turned is not None:
                exif[ORIENTATION] = 1
            exif_bytes = exif.tobytes()  # IFD0 + Exif/GPS sub-IFDs; IFD1 (the thumbnail) is left out
            if turned is not None:
                exif[ORIENTATION] = turned
    except (ValueError, OSError, SyntaxError, TypeError):
        exif_bytes = None  # malformed EXIF: drop it rather than refuse the picture
    dpi = im.info.get("dpi")
    dpi = (float(dpi[0]), float(dpi[1])) if isinstance(dpi, tuple) and len(dpi) == 2 else None
    text = {k: v for k, v in getattr(im, "text", {}).items() if isinstance(v, str)} \
        if im.format == "PNG" else {}
    return Carried(icc=im.info.get("icc_profile") or None, exif=exif_bytes, dpi=dpi, text=text)


def upright(im: Image.Image) -> Image.Image:
    """The image turned as its EXIF Orientation says (the same image when it is upright)."""
    if orientation_of(im) == 1:
        return im
    return ImageOps.exif_transpose(im)


def upright_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    """[H, W, C] pixels turned as an EXIF Orientation value says (for decoders that ignore it)."""
    turns = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    turn = turns.get(orientation)
    return np.ascontiguousarray(turn(arr)) if turn else arr
