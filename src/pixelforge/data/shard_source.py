"""Load a shard folder (data/shards.py) as an ImageDataset: preloaded when it fits in memory,
else decoded per item by random access (global index -> shard, byte offset)."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pixelforge.data.dataset import ImageDataset
from pixelforge.data.decode import decode_image
from pixelforge.data.fingerprint import make_fingerprint
from pixelforge.data.options import LoadOptions
from pixelforge.data.shards import Manifest, read_manifest
from pixelforge.errors import UserError


class LazyShards:
    """Decodes sample i of a shard set on request (each DataLoader worker opens files itself)."""

    def __init__(self, manifest: Manifest, count: int, opts: LoadOptions) -> None:
        self._m, self._count, self._opts = manifest, count, opts

    def __len__(self) -> int:
        return self._count

    def load(self, index: int) -> torch.Tensor:
        return decode_sample(self._m, index, self._opts)

    def name(self, index: int) -> str:
        s = self._m.samples[index]
        return f"{self._m.shards[s.shard]['name']}[{index}]"


def decode_sample(m: Manifest, index: int, opts: LoadOptions) -> torch.Tensor:
    """uint8 [C, S, S] of sample `index`; UserError naming the shard when it cannot be decoded."""
    data = m.read(index)
    try:
        return decode_image(io.BytesIO(data), opts)
    except Exception as exc:  # PIL raises many kinds for bad bytes
        name = m.shards[m.samples[index].shard]["name"]
        raise UserError(f"shard {name}: sample {index} cannot be decoded ({exc}); training "
                        "stops, re-pack the data or remove the shard") from None


def load_shards(folder: Path, opts: LoadOptions) -> ImageDataset:
    """ImageDataset over `folder`'s shards (split "train" only: a shard set is one split)."""
    if opts.split != "train":
        raise UserError(f"data.path {folder}: a shard folder holds one split; pack the test "
                        "images into their own shard folder and pass that")
    m = read_manifest(folder)
    n = opts.take(len(m.samples))
    labels = torch.tensor([s.label for s in m.samples[:n]], dtype=torch.int64)
    preload = opts.fits_in_memory(n)
    description = (f"shards {folder} {n} images in {len(m.shards)} shards "
                   f"{m.width}x{m.height}x{m.channels} {m.encoding} -> {opts.target} "
                   f"({opts.resize_filter})" + (f", {m.num_classes} classes" if m.num_classes
                                                else "") + ("" if preload else ", decoded lazily"))
    common = dict(labels=labels if m.num_classes else torch.full((n,), -1, dtype=torch.int64),
                  num_classes=m.num_classes, class_names=m.class_names, description=description,
                  fingerprint=make_fingerprint({"kind": "shards", "set": m.fingerprint}, opts),
                  image_size=opts.image_size, channels=opts.channels)
    if preload:
        return ImageDataset(images=_decode_all(m, n, opts), **common)
    return ImageDataset(lazy=LazyShards(m, n, opts), **common)


def _decode_all(m: Manifest, n: int, opts: LoadOptions) -> torch.Tensor:
    """uint8 [n, C, S, S]: every sample decoded (threads); the first damaged one stops it."""
    out = torch.empty((n, opts.channels, opts.image_size, opts.image_size), dtype=torch.uint8)

    def one(i: int) -> None:
        out[i] = decode_sample(m, i, opts)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(one, range(n)))
    return out


def shard_photos(folder: Path, channels: int, limit: int | None = None) -> list[np.ndarray]:
    """The pictures of a shard set at their stored size, [H, W, C] uint8 (restoration crops)."""
    m = read_manifest(folder)
    count = len(m.samples) if limit is None else min(limit, len(m.samples))
    photos = []
    for i in range(count):
        data = m.read(i)
        try:
            with Image.open(io.BytesIO(data)) as im:
                a = np.asarray(im.convert("L" if channels == 1 else "RGB"))
        except Exception as exc:
            name = m.shards[m.samples[i].shard]["name"]
            raise UserError(f"shard {name}: sample {i} cannot be decoded ({exc})") from None
        photos.append(a[..., None] if a.ndim == 2 else a)
    return photos
