"""Image files in and out for restoration: keeps each file's size, mode (L, RGB, RGBA, LA) and bit depth.

Networks see RGB in [-1, 1] (gray is repeated to three channels and averaged back); alpha travels
beside the colour and is resized with bicubic or passed through; 16-bit PNG/TIFF stay 16-bit.
Anything else (not an image, a decompression bomb, a float image) is refused with one line.
"""

from __future__ import annotations

import glob
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from pixelforge.core.files import atomic_write_bytes
from pixelforge.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm")
DEFAULT_MAX_PIXELS = 64_000_000  # input pixels; larger files are refused as decompression bombs
OUT_FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp", "tif": ".tif",
               "tiff": ".tif", "bmp": ".bmp"}
ALPHA_FORMATS = (".png", ".webp", ".tif")
SIXTEEN_BIT_FORMATS = (".png", ".tif")


@dataclass
class LoadedImage:
    """One decoded file: rgb [1, 3, H, W] float in [-1, 1], alpha [1, 1, H, W] in [-1, 1] or None."""

    path: Path
    rgb: torch.Tensor
    alpha: torch.Tensor | None
    gray: bool  # the file was single-channel (L, LA, 1, I;16): write it back as gray
    bits: int  # 8 or 16

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL reports it."""
        return self.rgb.shape[-1], self.rgb.shape[-2]


def collect_inputs(items: list[str]) -> list[Path]:
    """Files, folders (their image files, sorted) and glob patterns -> a de-duplicated file list."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_file():
            found = [p]
        elif p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UserError(f"{item}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        else:
            found = sorted(Path(f) for f in glob.glob(item, recursive=True) if Path(f).is_file())
            if not found:
                raise UserError(f"{item}: no such file or folder, and no file matches it as a glob")
        out += [f for f in found if f not in out]
    return out


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

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        raise UserError(f"{path}: could not read this 16-bit image")
    order = [2, 1, 0, 3][: arr.shape[2]]  # BGR(A) -> RGB(A)
    return arr[..., order]


def _to_tensor(arr: np.ndarray, bits: int) -> torch.Tensor:
    """[H, W, C] uint8/uint16 -> [1, C, H, W] float in [-1, 1]."""
    peak = 65535.0 if bits == 16 else 255.0
    t = torch.from_numpy(np.ascontiguousarray(arr).astype(np.float32))
    return (t / (peak / 2) - 1).permute(2, 0, 1).unsqueeze(0)


def read_image(path: str | Path, *, max_pixels: int | None = None) -> LoadedImage:
    """Decode one file for restoration, refusing non-images, bombs and unsupported modes."""
    path = Path(path)
    max_pixels = max_pixels or DEFAULT_MAX_PIXELS
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
    with im:
        w, h = im.size
        if w * h > max_pixels:
            raise UserError(f"{path}: {w}x{h} = {w * h / 1e6:.0f} MP is over the limit of "
                            f"{max_pixels / 1e6:.0f} MP (decompression bomb?); refusing")
        try:
            return _decode(path, im)
        except (OSError, SyntaxError, ValueError) as exc:
            raise UserError(f"{path}: cannot decode ({exc})") from None


def _decode(path: Path, im: Image.Image) -> LoadedImage:
    if _needs_cv2(path, im):
        arr = _read_cv2_16(path)
        alpha = _to_tensor(arr[..., 3:], 16) if arr.shape[2] == 4 else None
        return LoadedImage(path, _to_tensor(arr[..., :3], 16), alpha, gray=False, bits=16)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im).astype(np.int64)
        if arr.min() < 0 or arr.max() > 65535:
            raise UserError(f"{path}: 32-bit integer pixels are not supported; save as 8- or 16-bit")
        t = _to_tensor(arr.astype(np.uint16)[..., None], 16)
        return LoadedImage(path, t.expand(1, 3, *t.shape[-2:]).clone(), None, gray=True, bits=16)
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
    return LoadedImage(path, _to_tensor(color, 8), alpha, gray=gray, bits=8)


def _quantise(x: torch.Tensor, bits: int) -> np.ndarray:
    """[1, C, H, W] in [-1, 1] -> [H, W, C] uint8/uint16, round to nearest."""
    peak = 65535.0 if bits == 16 else 255.0
    a = ((x[0].float().clamp(-1, 1) + 1) * (peak / 2)).round_().permute(1, 2, 0).numpy()
    return a.astype(np.uint16 if bits == 16 else np.uint8)


def encode_result(rgb: torch.Tensor, alpha: torch.Tensor | None, *, gray: bool, bits: int,
                  suffix: str) -> bytes:
    """Encode [1, 3, H, W] (+ alpha) in the input's mode and bit depth as a `suffix` file."""
    if alpha is not None and suffix not in ALPHA_FORMATS:
        raise UserError(f"{suffix} cannot hold the alpha channel; write png, webp or tif")
    if bits == 16 and suffix not in SIXTEEN_BIT_FORMATS:
        bits = 8  # JPEG/WebP/BMP are 8-bit formats
    color = rgb.mean(dim=1, keepdim=True) if gray else rgb
    planes = color if alpha is None else torch.cat([color, alpha], dim=1)
    arr = _quantise(planes, bits)
    if bits == 16 and arr.shape[2] >= 3:  # Pillow cannot write 16-bit colour
        import cv2

        order = [2, 1, 0, 3][: arr.shape[2]]
        ok, buf = cv2.imencode(suffix, np.ascontiguousarray(arr[..., order]))
        if not ok:
            raise UserError(f"could not encode a 16-bit {suffix} image")
        return buf.tobytes()
    if bits == 16 and arr.shape[2] == 2:  # 16-bit gray + alpha: no Pillow mode; write RGBA 16-bit
        import cv2

        rgba = np.concatenate([arr[..., :1].repeat(3, axis=2), arr[..., 1:]], axis=2)
        ok, buf = cv2.imencode(suffix, rgba)
        return buf.tobytes()
    if bits == 16:
        pil = Image.fromarray(arr[..., 0])  # mode I;16
    else:
        pil = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    from pixelforge.core.images import encode_image

    return encode_image(pil, suffix)


def output_path(src: Path, out_dir: Path, fmt: str | None, tag: str = "") -> Path:
    """out_dir/<stem><tag>.<fmt or png>."""
    suffix = OUT_FORMATS.get((fmt or "png").lower().lstrip("."))
    if suffix is None:
        raise UserError(f"--format {fmt}: choose one of {', '.join(sorted(OUT_FORMATS))}")
    return out_dir / f"{src.stem}{tag}{suffix}"


def plan_outputs(inputs: list[Path], out_dir: str | Path, fmt: str | None, *, tag: str = "",
                 overwrite: bool = False) -> list[Path]:
    """Output path per input; refuses two inputs writing one file and (unless asked) overwriting an input."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir}: exists and is not a folder")
    outs = [output_path(p, out_dir, fmt, tag) for p in inputs]
    seen: dict[Path, Path] = {}
    resolved_inputs = {p.resolve() for p in inputs}
    for src, dst in zip(inputs, outs, strict=True):
        key = dst.resolve()
        if key in seen:
            raise UserError(f"{seen[key]} and {src} would both be written to {dst}; "
                            "process them into different --out folders")
        seen[key] = src
        if key in resolved_inputs and not overwrite:
            raise UserError(f"{dst} is an input; refusing to overwrite it (pass --overwrite)")
    return outs


def write_result(path: Path, rgb: torch.Tensor, alpha: torch.Tensor | None, *, gray: bool,
                 bits: int) -> Path:
    """Encode and write atomically."""
    atomic_write_bytes(path, encode_result(rgb, alpha, gray=gray, bits=bits,
                                           suffix=path.suffix.lower()))
    return path


def read_mask(path: str | Path, size: tuple[int, int]) -> torch.Tensor:
    """A mask file -> [1, 1, H, W] float, 1 = hole: white (luma > 127) is the hole.

    With an alpha channel, a pixel is a hole only where it is also opaque (alpha > 127), so masks
    painted on a transparent layer work. `size` is the image's (width, height): must match.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.size != tuple(size):
                raise UserError(f"mask {path} is {im.size[0]}x{im.size[1]} but the image is "
                                f"{size[0]}x{size[1]}; they must match")
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            rgba = np.asarray(im.convert("RGBA")) if has_alpha else None
            luma = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError) as exc:
        if isinstance(exc, UserError):
            raise
        raise UserError(f"mask {path}: not an image Pillow can read") from None
    hole = luma > 127
    if rgba is not None:
        hole &= rgba[..., 3] > 127
    return torch.from_numpy(hole.astype(np.float32))[None, None]


def plan_jobs(items: list[str], out_dir: str | Path, fmt: str | None, *,
              overwrite: bool = False, tag: str = "") -> list[tuple[Path, Path]]:
    """(input, output) pairs, every path checked before any work (so a refusal leaves nothing)."""
    inputs = collect_inputs(items)
    return list(zip(inputs, plan_outputs(inputs, out_dir, fmt, tag=tag, overwrite=overwrite),
                    strict=True))


def run_jobs(jobs: list[tuple[Path, Path]], fn) -> list[Path]:
    """Read each input, fn(LoadedImage) -> (rgb, alpha), write it in the input's mode and depth."""
    done = []
    for src, dst in jobs:
        img = read_image(src)
        rgb, alpha = fn(img)
        done.append(write_result(dst, rgb, alpha, gray=img.gray, bits=img.bits))
    return done
