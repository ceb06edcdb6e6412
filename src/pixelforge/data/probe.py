"""Look at a data spec cheaply (headers and a small sample) to learn its colour and typical size.

Used before training to pick `model.channels` and `model.image_size` when the user left them
unset; nothing here decodes the whole data set.
"""

from __future__ import annotations

import logging
import os
import statistics
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from pixelforge.data.npz_source import _array_headers, _choose_key
from pixelforge.errors import UserError

log = logging.getLogger("pixelforge.data")

SAMPLE = 48  # images looked at per data set (evenly spread over it)
# a pixel counts as coloured when its channels differ by more than this (0-255); JPEG chroma
# noise on grey pictures stays below it
_SPREAD = 12
_COLOURED_FRACTION = 0.01  # an image is colour when more than 1% of its pixels are coloured
_NPZ_BYTES = 32 * 1024**2  # at most this much of an .npz array is decompressed to judge colour
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

# what the named data sets hold (size = shorter side); mnist etc. are never downloaded to probe
NAMED = {"mnist": (1, 28), "fashion-mnist": (1, 28), "cifar10": (3, 32), "celeba": (3, 178)}
NAMED_COUNT = {"mnist": 60_000, "fashion-mnist": 60_000, "cifar10": 50_000, "celeba": 162_770}


@dataclass(frozen=True)
class DataProbe:
    """What the data looks like: 1 (grey) or 3 (colour) channels and the median shorter side."""

    channels: int
    size: int
    looked_at: int  # images sampled
    source: str
    count: int = 0  # images in the set (0: not known without reading it)

    def describe(self) -> str:
        colour = "colour" if self.channels == 3 else "grayscale"
        how = f"{self.looked_at} images sampled" if self.looked_at else "from its shape"
        many = f"{self.count} images, " if self.count else ""
        return f"{self.source}: {many}{colour}, typical size {self.size} px ({how})"


def probe_data(spec: str, *, split: str = "train", limit: int | None = None) -> DataProbe:
    """Channels and typical square size of the images `spec` names (same forms as load_images)."""
    from pixelforge.data.spec import split_npz_key
    from pixelforge.data.torchvision_source import canonical_name

    text = os.fspath(spec).strip()
    if text == "default":
        return DataProbe(1, 28, 0, "default (embedded MNIST)", 12_000)
    name = canonical_name(text)
    if name is not None and not ("/" in text or os.sep in text or text.startswith((".", "~"))):
        channels, size = NAMED[name]
        return DataProbe(channels, size, 0, f"data set {name}",
                         NAMED_COUNT[name] if split == "train" else 10_000)
    path, key = split_npz_key(text)
    if path.is_dir() and (path / "manifest.json").is_file():
        return _probe_shards(path, limit)
    if path.is_dir():
        return _probe_folder(path, split, limit)
    if path.is_file() and path.suffix.lower() == ".npz":
        return _probe_npz(path, key, split, limit)
    raise UserError(f"data.path: cannot look at {text!r}: not a folder, .npz file or data set name")


# -- folders ------------------------------------------------------------------------------------

def _probe_folder(root: Path, split: str, limit: int | None) -> DataProbe:
    from pixelforge.data.folder_source import scan_images, split_folder

    base = split_folder(root, split)
    files, _ = scan_images(base)
    if limit is not None:
        files = files[:limit]
    if not files:
        raise UserError(f"data.path: no images in folder {base}")
    sizes, colour, looked = [], False, 0
    for path in _spread(files, SAMPLE * 2):
        try:
            side, is_colour = _look_at_file(path)
        except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
            continue  # the loader skips unreadable files too
        sizes.append(side)
        colour = colour or is_colour
        looked += 1
        if looked == SAMPLE:
            break
    if not sizes:
        raise UserError(f"data.path: none of the sampled files in {base} is a readable image")
    return DataProbe(3 if colour else 1, int(statistics.median(sizes)), looked, f"folder {base}",
                     len(files))


def _look_at_file(path: Path) -> tuple[int, bool]:
    """(shorter side, whether the picture holds colour) from a small decode of one file."""
    with Image.open(path) as img:
        side = min(img.size)
        if side < 1:
            raise ValueError("empty image")
        if img.mode in _GREY_MODES:
            return side, False
        if img.format == "JPEG":
            img.draft("RGB", (64, 64))
        img = img.convert("RGB")
        img.thumbnail((64, 64))
        return side, _is_colour(np.asarray(img)[None])


def _is_colour(images: np.ndarray) -> bool:
    """True when any image of uint8 [N, H, W, 3] has more than 1% clearly coloured pixels."""
    x = images.astype(np.int16)
    spread = x.max(axis=-1) - x.min(axis=-1)  # [N, H, W]
    return bool(((spread > _SPREAD).mean(axis=(1, 2)) > _COLOURED_FRACTION).any())


def _spread(items: list, n: int) -> list:
    """Up to n items evenly spaced over the list (first and last included)."""
    if len(items) <= n:
        return items
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in idx]


# -- shard folders (pixelforge pack) ------------------------------------------------------------

def _probe_shards(root: Path, limit: int | None) -> DataProbe:
    """Channels, size and count from the manifest (checked against its shards)."""
    from pixelforge.data.shards import read_manifest

    m = read_manifest(root)
    n = len(m.samples) if limit is None else min(limit, len(m.samples))
    return DataProbe(m.channels, min(m.width, m.height), 0, f"shards {root}", n)


# -- .npz archives ------------------------------------------------------------------------------

def _probe_npz(path: Path, key: str | None, split: str, limit: int | None) -> DataProbe:
    """Shape from the .npy header; colour from the first images, read without decompressing all."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = {m[:-4]: m for m in zf.namelist() if m.endswith(".npy")}
            headers = _array_headers(path)
            chosen = _choose_key(path, list(headers), headers, key, split)
            with zf.open(members[chosen]) as fh:
                shape, fortran, dtype = _read_header(fh)
                if dtype != np.uint8 or len(shape) not in (3, 4) or min(shape[:3] or (0,)) == 0:
                    raise UserError(f"{path}[{chosen}] has dtype {dtype} and shape {shape}; "
                                    "images must be uint8 (N, H, W) or (N, H, W, C)")
                n = shape[0] if limit is None else min(limit, shape[0])
                channels = shape[3] if len(shape) == 4 else 1
                side = min(shape[1], shape[2])
                if channels < 3:
                    return DataProbe(1, side, 0, f"npz {path}[{chosen}]", n)
                per = int(np.prod(shape[1:]))
                take = max(1, min(n, 256, _NPZ_BYTES // per))
                raw = fh.read(take * per)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise UserError(f"data.path: cannot read {path} as .npz: {exc}") from None
    if fortran or len(raw) < take * per:
        return DataProbe(3, side, 0, f"npz {path}[{chosen}]", n)  # cannot sample: the shape
    images = np.frombuffer(raw, np.uint8).reshape(take, *shape[1:])[..., :3]
    colour = _is_colour(images)
    return DataProbe(3 if colour else 1, side, take, f"npz {path}[{chosen}]", n)


def _read_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    return tuple(shape), bool(fortran), np.dtype(dtype)
