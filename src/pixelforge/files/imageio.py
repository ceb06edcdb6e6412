"""Read and write one image file for an image-to-image job, keeping its size, mode (L, RGB, RGBA,
LA), bit depth, orientation and metadata.

Networks see RGB in [-1, 1] (gray is repeated to three channels and averaged back); alpha travels
beside the colour; 16-bit PNG/TIFF stay 16-bit. Pixels are turned upright by their EXIF
Orientation on read and written upright (see files/metadata.py for what else is carried).
Anything else (not an image, a truncated file, a decompression bomb, a float image) is refused
with one line naming the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from pixelforge.core.files import atomic_write_bytes
from pixelforge.core.images import encode_image
from pixelforge.errors import UserError
from pixelforge.files.metadata import Carried, carried_of, orientation_of, upright, upright_array

DEFAULT_MAX_PIXELS = 64_000_000  # input pixels; larger files are refused as decompression bombs
ALPHA_FORMATS = (".png", ".webp", ".tif")
SIXTEEN_BIT_FORMATS = (".png", ".tif")
QUANTISE_BAND = 1 << 22  # values quantised at a time (16 MB of float32)


@dataclass
class LoadedImage:
    """One decoded file: rgb [1, 3, H, W] float in [-1, 1], alpha [1, 1, H, W] in [-1, 1] or None."""

    path: Path
    rgb: torch.Tensor
    alpha: torch.Tensor | None
    gray: bool  # the file was single-channel (L, LA, 1, I;16): write it back as gray
    bits: int  # 8 or 16
    meta: Carried = field(default_factory=Carried)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the upright picture, as PIL reports it."""
        return self.rgb.shape[-1], self.rgb.shape[-2]


def _png_bit_depth(path: Path) -> tuple[int, int]:
    """(bit depth, colour type) from a PNG's IHDR chunk."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    return (head[24], head[25]) if len(head) >= 26 else (8, 0)


def _needs_cv2(path: Path, im: Image.Image) -> bool:
    """Pillow reads 16-bit colour PNG/TIFF as 8-bit: read those with OpenCV instead."""
    if im.format == "PNG":
        depth, ctype = _png_bit_depth(path)
        return depth == 16 and ctype in (2, 6)
    if im.format == "TIFF":
        bps = im.tag_v2.get(258, (8,))
        bps = bps if isinstance(bps, tuple) else (bps,)
        return max(bps) == 16 and len(bps) >= 3
    return False


def _read_cv2_16(path: Path) -> np.ndarray:
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # ignores EXIF Orientation
    if arr is None or arr.dtype != np.uint16:
        raise UserError(f"{path}: could not read this 16-bit image")
    order = [2, 1, 0, 3][: arr.shape[2]]  # BGR(A) -> RGB(A)
    return arr[..., order]


def _to_tensor(arr: np.ndarray, bits: int) -> torch.Tensor:
    """[H, W, C] uint8/uint16 -> [1, C, H, W] float in [-1, 1] (one float copy: big photos)."""
    peak = 65535.0 if bits == 16 else 255.0
    t = torch.from_numpy(np.ascontiguousarray(arr).astype(np.float32))
    return t.div_(peak / 2).sub_(1).permute(2, 0, 1).unsqueeze(0)


def _open(path: Path, max_pixels: int) -> Image.Image:
    """Image.open with the refusals of read_image (missing, not an image, bomb)."""
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (UnidentifiedImageError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        what = "not an image Pillow can read" if isinstance(exc, UnidentifiedImageError) else \
            "too many pixels (decompression bomb?)"
        raise UserError(f"{path}: {what}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot open ({exc})") from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise UserError(f"{path}: {w}x{h} = {w * h / 1e6:.0f} MP is over the limit of "
                        f"{max_pixels / 1e6:.0f} MP (decompression bomb?); refusing")
    return im


def check_image(path: str | Path, *, max_pixels: int | None = None) -> tuple[int, int]:
    """Decode a file completely and drop it: UserError (naming the file) when read_image would
    fail, else the upright picture's (width, height)."""
    path = Path(path)
    with _open(path, max_pixels or DEFAULT_MAX_PIXELS) as im:
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise UserError(f"{path}: cannot decode ({exc})") from None
        if im.mode == "F":
            raise UserError(f"{path}: floating-point images are not supported; save as 8- or "
                            "16-bit")
        w, h = im.size
        return (h, w) if orientation_of(im) in (5, 6, 7, 8) else (w, h)


def read_image(path: str | Path, *, max_pixels: int | None = None) -> LoadedImage:
    """Decode one file, upright, refusing non-images, truncated files, bombs and unsupported modes."""
    path = Path(path)
    with _open(path, max_pixels or DEFAULT_MAX_PIXELS) as im:
        try:
            return _decode(path, im)
        except (OSError, SyntaxError, ValueError) as exc:
            raise UserError(f"{path}: cannot decode ({exc})") from None


def _decode(path: Path, im: Image.Image) -> LoadedImage:
    meta = carried_of(im)
    if _needs_cv2(path, im):
        arr = upright_array(_read_cv2_16(path), orientation_of(im))
        alpha = _to_tensor(arr[..., 3:], 16) if arr.shape[2] == 4 else None
        return LoadedImage(path, _to_tensor(arr[..., :3], 16), alpha, gray=False, bits=16,
                           meta=meta)
    im = upright(im)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im).astype(np.int64)
        if arr.min() < 0 or arr.max() > 65535:
            raise UserError(f"{path}: 32-bit integer pixels are not supported; save as 8- or 16-bit")
        t = _to_tensor(arr.astype(np.uint16)[..., None], 16)
        return LoadedImage(path, t.expand(1, 3, *t.shape[-2:]).clone(), None, gray=True, bits=16,
                           meta=meta)
    if mode == "F":
        raise UserError(f"{path}: floating-point images are not supported; save as 8- or 16-bit")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, ...
    arr = np.asarray(im)
    if arr.ndim == 2:
        arr = arr[..., None]
    gray = arr.shape[2] in (1, 2)
    color = arr[..., :1].repeat(3, axis=2) if gray else arr[..., :3]
    has_alpha = arr.shape[2] in (2, 4)
    alpha = _to_tensor(arr[..., -1:], 8) if has_alpha else None
    return LoadedImage(path, _to_tensor(color, 8), alpha, gray=gray, bits=8, meta=meta)


def _quantise(x: torch.Tensor, bits: int) -> np.ndarray:
    """[1, C, H, W] in [-1, 1] -> [H, W, C] uint8/uint16, round to nearest; in bands of rows so
    a big picture needs no second full-size float copy."""
    peak = 65535.0 if bits == 16 else 255.0
    dtype = np.uint16 if bits == 16 else np.uint8
    _, c, h, w = x.shape
    out = np.empty((h, w, c), dtype)
    rows = max(1, QUANTISE_BAND // max(1, w * c))
    for y in range(0, h, rows):
        band = x[0, :, y:y + rows].float().clamp(-1, 1).add_(1).mul_(peak / 2).round_()
        out[y:y + rows] = band.permute(1, 2, 0).numpy().astype(dtype)
    return out


def _cv2_encode(arr: np.ndarray, suffix: str) -> bytes:
    """16-bit colour (Pillow cannot write it): RGB(A) [H, W, C] uint16 through OpenCV."""
    import cv2

    order = [2, 1, 0, 3][: arr.shape[2]]
    ok, buf = cv2.imencode(suffix, np.ascontiguousarray(arr[..., order]))
    if not ok:
        raise UserError(f"could not encode a 16-bit {suffix} image")
    return buf.tobytes()


def encode_result(rgb: torch.Tensor, alpha: torch.Tensor | None, *, gray: bool, bits: int,
                  suffix: str, meta: Carried | None = None) -> bytes:
    """Encode [1, 3, H, W] (+ alpha) in the input's mode and bit depth as a `suffix` file."""
    if alpha is not None and suffix not in ALPHA_FORMATS:
        raise UserError(f"{suffix} cannot hold the alpha channel; write png, webp or tif",
                        field="fmt")
    if bits == 16 and suffix not in SIXTEEN_BIT_FORMATS:
        bits = 8  # JPEG/WebP/BMP are 8-bit formats
    color = rgb.mean(dim=1, keepdim=True) if gray else rgb
    planes = color if alpha is None else torch.cat([color, alpha], dim=1)
    arr = _quantise(planes, bits)
    if bits == 16 and arr.shape[2] >= 3:
        return _cv2_encode(arr, suffix)
    if bits == 16 and arr.shape[2] == 2:  # 16-bit gray + alpha: no Pillow mode; write RGBA 16-bit
        return _cv2_encode(np.concatenate([arr[..., :1].repeat(3, axis=2), arr[..., 1:]], axis=2),
                           suffix)
    pil = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)  # 16-bit gray: mode I;16
    return encode_image(pil, suffix, **(meta.save_params(suffix) if meta else {}))


def write_result(path: Path, rgb: torch.Tensor, alpha: torch.Tensor | None, *, gray: bool,
                 bits: int, meta: Carried | None = None) -> Path:
    """Encode and write atomically."""
    atomic_write_bytes(path, encode_result(rgb, alpha, gray=gray, bits=bits,
                                           suffix=path.suffix.lower(), meta=meta))
    return path


def read_mask(path: str | Path, size: tuple[int, int] | None = None) -> torch.Tensor:
    """A mask file -> [1, 1, H, W] float, 1 = hole: white (luma > 127) is the hole.

    With an alpha channel, a pixel is a hole only where it is also opaque (alpha > 127), so masks
    painted on a transparent layer work. `size`, the image's (width, height), must match if given.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"mask {path}: no such file", field="mask")
    try:
        with Image.open(path) as opened:
            im = upright(opened)  # painted on the upright picture, as the image is read
            if size is not None and im.size != tuple(size):
                raise UserError(f"mask {path} is {im.size[0]}x{im.size[1]} but the image is "
                                f"{size[0]}x{size[1]}; they must match")
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            rgba = np.asarray(im.convert("RGBA")) if has_alpha else None
            luma = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError) as exc:
        what = "not an image Pillow can read" if isinstance(exc, UnidentifiedImageError) \
            else f"cannot decode ({exc})"
        raise UserError(f"mask {path}: {what}") from None
    hole = luma > 127
    if rgba is not None:
        hole &= rgba[..., 3] > 127
    return torch.from_numpy(hole.astype(np.float32))[None, None]
