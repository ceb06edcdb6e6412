"""load_images: resolve a data spec (default, folder, .npz[:key], data set name) to a dataset."""

from __future__ import annotations

import os
from pathlib import Path

from pixelforge.data.dataset import ImageDataset
from pixelforge.data.fingerprint import file_content_digest
from pixelforge.data.folder_source import load_folder
from pixelforge.data.npz_source import load_npz
from pixelforge.data.options import LoadOptions
from pixelforge.data.shard_source import load_shards
from pixelforge.data.shards import is_shard_folder
from pixelforge.data.torchvision_source import NAMES, canonical_name, load_named
from pixelforge.errors import UserError

DEFAULT_NPZ = Path(__file__).resolve().parent.parent / "assets" / "mnist_12k.npz"
ACCEPTED_FORMS = (
    "'default', a folder of images or of shards (pixelforge pack), a .npz file (optionally file.npz:key), "
    f"or a data set name ({', '.join(NAMES)})"
)


def load_images(
    spec: str | os.PathLike[str],
    *,
    image_size: int,
    channels: int,
    split: str = "train",
    limit: int | None = None,
    resize_filter: str = "bicubic",
    download: bool = True,
) -> ImageDataset:
    """Load `spec` as an ImageDataset of square `image_size` images with `channels` channels.

    spec: "default" (embedded 12k MNIST), a folder of images, a .npz file (optionally
    `file.npz:key`), or a data set name (mnist, fashion-mnist, cifar10, celeba; a known name
    wins over a same-named relative folder, write `./mnist` for the folder). Every image is
    converted to gray or RGB (alpha composited onto white), centre-cropped to a square and
    resized with `resize_filter`. `limit` keeps the first N images; `download` lets named data
    sets be fetched. Any problem with the input raises UserError with a one-line message.
    """
    opts = LoadOptions(
        image_size=image_size,
        channels=channels,
        split=split,
        limit=limit,
        resize_filter=resize_filter,
    )
    text = os.fspath(spec).strip() if isinstance(spec, str | os.PathLike) else ""
    if not text:
        raise UserError(f"empty data spec {spec!r}; use {ACCEPTED_FORMS}")
    if text == "default":
        return load_default(opts)
    name = canonical_name(text)
    if name is not None and not _looks_like_path(text):
        return load_named(name, opts, download=download)
    path, key = split_npz_key(text)
    if path.is_dir():
        if key is not None:
            raise UserError(f"{path} is a folder; the ':key' suffix only applies to .npz files")
        if is_shard_folder(path):  # written by `pixelforge pack` (data/shards.py)
            return load_shards(path, opts)
        return load_folder(path, opts)
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return load_npz(path, key, opts)
        raise UserError(f"{path} is a file but not a .npz archive; use {ACCEPTED_FORMS}")
    if _looks_like_path(text):
        raise UserError(f"data path not found: {path}")
    raise UserError(f"unknown data spec {text!r}: no such path or data set; use {ACCEPTED_FORMS}")


def load_default(opts: LoadOptions) -> ImageDataset:
    """The embedded 12k-image MNIST subset (x_train 12000, x_test 2000, 10 classes)."""
    if not DEFAULT_NPZ.is_file():
        raise UserError(f"the embedded default data set is missing: {DEFAULT_NPZ}")
    identity = {"kind": "default", "sha256": file_content_digest(DEFAULT_NPZ)}
    return load_npz(DEFAULT_NPZ, None, opts, label="default", identity=identity)


def split_npz_key(text: str) -> tuple[Path, str | None]:
    """`file.npz:key` -> (Path('file.npz'), 'key'); anything else -> (Path(text), None)."""
    head, sep, tail = text.rpartition(":")
    if sep and tail and head.lower().endswith(".npz"):
        return Path(head).expanduser(), tail
    return Path(text).expanduser(), None


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.startswith((".", "~")) or ".npz" in text.lower()


def check_spec(spec: str) -> None:
    """Fail now (before any start-up work) when a data spec names no existing path and no data
    set: the checks of load_images that need no loading."""
    text = spec.strip()
    if not text:
        raise UserError(f"data.path is empty; use {ACCEPTED_FORMS}")
    if text == "default" or (canonical_name(text) is not None and not _looks_like_path(text)):
        return
    path, _ = split_npz_key(text)
    if not path.exists():
        what = "data path not found" if _looks_like_path(text) else "unknown data spec"
        raise UserError(f"data.path {text!r}: {what}; use {ACCEPTED_FORMS}")
    if path.is_file() and path.suffix.lower() != ".npz":
        raise UserError(f"data.path {text!r} is a file but not a .npz archive; use {ACCEPTED_FORMS}")
