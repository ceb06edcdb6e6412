"""Upload checks for the studio: byte and pixel limits, real images only, zip extraction without
zip-slip. Every refusal is a UserError with one line the page shows as it is."""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from pixelforge.core.formats import IMAGE_SUFFIXES
from pixelforge.errors import UserError

IMAGE_FORMATS = {"PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"}
MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Upload limits: bytes per image, pixels per image, bytes and members per zip."""

    image_bytes: int = 20 * MB
    image_pixels: int = 4096 * 4096
    zip_bytes: int = 200 * MB
    zip_unpacked_bytes: int = 1024 * MB
    zip_members: int = 100_000

    @property
    def max_file_size(self) -> int:
        """The per-file limit gradio enforces before our own checks see the file."""
        return max(self.image_bytes, self.zip_bytes)


def _size_text(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


def open_checked_image(path: str | Path, limits: Limits, *, label: str = "upload") -> Image.Image:
    """Open an uploaded file as an image after checking its size, type and pixel count.

    The pixel count is read from the header before any decoding, so a decompression bomb is
    refused without being inflated. Returns the decoded (loaded) image."""
    p = Path(path)
    name = p.name
    try:
        size = p.stat().st_size
    except OSError:
        raise UserError(f"{label}: the uploaded file is missing") from None
    if size > limits.image_bytes:
        raise UserError(f"{label}: {name} is {_size_text(size)}, over the "
                        f"{_size_text(limits.image_bytes)} limit for images")
    try:
        im = Image.open(p)
    except Image.DecompressionBombError:
        raise UserError(f"{label}: {name} has too many pixels (a decompression bomb?); refused") \
            from None
    except Exception:  # noqa: BLE001 - PIL raises many kinds for non-images
        raise UserError(f"{label}: {name} is not an image (PNG, JPEG, WebP, BMP, GIF or TIFF)") \
            from None
    if im.format not in IMAGE_FORMATS:
        raise UserError(f"{label}: {name} is a {im.format} file; upload PNG, JPEG, WebP, BMP, "
                        "GIF or TIFF")
    w, h = im.size
    if w * h > limits.image_pixels:
        raise UserError(f"{label}: {name} is {w}x{h} = {w * h:,} pixels, over the "
                        f"{limits.image_pixels:,}-pixel limit (decompression bombs are refused)")
    try:
        im.load()
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise UserError(f"{label}: {name} is a damaged image ({type(exc).__name__})") from None
    return im


def _member_target(dest: Path, info: zipfile.ZipInfo) -> Path | None:
    """Where a zip member goes inside dest, None to skip it; UserError for a hostile name."""
    name = info.filename.replace("\\", "/")
    pure = PurePosixPath(name)
    if name.startswith("/") or (pure.parts and ":" in pure.parts[0]) or ".." in pure.parts:
        raise UserError(f"zip member {info.filename!r} points outside the archive; refused")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UserError(f"zip member {info.filename!r} is a symbolic link; refused")
    if info.is_dir() or pure.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    if any(part.startswith(".") or part == "__MACOSX" for part in pure.parts):
        return None
    target = (dest / Path(*pure.parts)).resolve()
    if not target.is_relative_to(dest):
        raise UserError(f"zip member {info.filename!r} points outside the archive; refused")
    return target


def extract_images_zip(archive: str | Path, dest: str | Path, limits: Limits) -> int:
    """Extract the image files of a zip into `dest` (created); returns how many.

    Member names with absolute paths, `..` or symlinks are refused (zip-slip); the archive
    size, the member count and the unpacked bytes (counted while copying, not trusted from
    the header) are limited. On any refusal `dest` is removed again."""
    archive = Path(archive)
    size = archive.stat().st_size
    if size > limits.zip_bytes:
        raise UserError(f"zip: {archive.name} is {_size_text(size)}, over the "
                        f"{_size_text(limits.zip_bytes)} limit")
    if not zipfile.is_zipfile(archive):
        raise UserError(f"zip: {archive.name} is not a zip archive")
    dest = Path(dest).resolve()
    if dest.exists():
        raise UserError(f"zip: {dest.name} already exists; choose another data set name")
    dest.mkdir(parents=True)
    count, total = 0, 0
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > limits.zip_members:
                raise UserError(f"zip: {len(infos)} members, over the {limits.zip_members} limit")
            for info in infos:
                target = _member_target(dest, info)
                if target is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 16):
                        total += len(chunk)
                        if total > limits.zip_unpacked_bytes:
                            raise UserError(f"zip: unpacks to more than "
                                            f"{_size_text(limits.zip_unpacked_bytes)}; refused")
                        out.write(chunk)
                count += 1
    except UserError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise UserError(f"zip: {archive.name} is damaged ({exc})") from None
    if count == 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise UserError(f"zip: {archive.name} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return count
