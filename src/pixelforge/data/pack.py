"""pack: write a folder of images or an .npz as image shards (data/shards.py) with a manifest.

Images are stored at one square size: the source's own when all its images share one square size,
else `size` (centre crop + resize); mixed or non-square sizes without `size` are refused.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pixelforge.core.images import to_uint8
from pixelforge.data.shards import ENCODINGS, MANIFEST, write_manifest
from pixelforge.errors import UserError


@dataclass(frozen=True)
class PackResult:
    folder: Path
    count: int
    shards: int
    size: int
    channels: int
    fingerprint: str


def native_size(spec: str) -> int | None:
    """The one square side every image of a folder / .npz has, else UserError naming two that
    differ (or the non-square shape); None is never returned for a readable source."""
    from pixelforge.data.folder_source import scan_images, split_folder
    from pixelforge.data.npz_source import _array_headers, _choose_key
    from pixelforge.data.spec import split_npz_key

    path, key = split_npz_key(spec)
    if path.is_file() and path.suffix.lower() == ".npz":
        headers = _array_headers(path)
        shape = headers[_choose_key(path, list(headers), headers, key, "train")][0]
        sizes = {(int(shape[2]), int(shape[1])): path.name}
    elif path.is_dir():
        files, _ = scan_images(split_folder(path, "train"))
        sizes = {}
        for f in files:
            try:
                with Image.open(f) as im:
                    sizes.setdefault(im.size, f.name)
            except (OSError, ValueError):
                continue  # unreadable files are skipped by the loader and counted there
            if len(sizes) > 1:
                break
    else:
        raise UserError(f"pack: {spec} is not a folder of images or an .npz file")
    if len(sizes) > 1:
        (a, fa), (b, fb) = list(sizes.items())[:2]
        raise UserError(f"pack: mixed image sizes ({fa} is {a[0]}x{a[1]}, {fb} is {b[0]}x{b[1]}) "
                        "and no resize rule; give size= to centre-crop and resize them all", field="size")
    if not sizes:
        raise UserError(f"pack: no readable images in {spec}")
    (w, h), name = next(iter(sizes.items()))
    if w != h:
        raise UserError(f"pack: {name} is {w}x{h}, not square, and no resize rule; give size= "
                        "to centre-crop and resize", field="size")
    return w


def pack(spec: str, out: Path, *, shard_size: int = 1000, size: int | None = None,
         channels: int | None = None, encoding: str = "png", quality: int = 95,
         resize_filter: str = "bicubic") -> PackResult:
    """Write `spec` (image folder or .npz, train split) as shards into the new folder `out`."""
    from pixelforge.data.probe import probe_data
    from pixelforge.data.spec import load_images

    if encoding not in ENCODINGS:
        raise UserError(f"pack: encoding={encoding!r} is not one of {', '.join(ENCODINGS)}",
                        field="encoding")
    if shard_size < 1:
        raise UserError(f"pack: shard_size={shard_size}: must be at least 1", field="shard_size")
    if out.exists() and any(out.iterdir()):
        raise UserError(f"pack: out={out} exists and is not empty; choose a new folder", field="out")
    side = size or native_size(spec)
    channels = channels or probe_data(spec).channels
    ds = load_images(spec, image_size=side, channels=channels, resize_filter=resize_filter,
                     download=False)
    out.mkdir(parents=True, exist_ok=True)
    labelled = ds.has_labels
    shards = []
    for start in range(0, len(ds), shard_size):
        name = f"shard-{len(shards):06d}.tar"
        rows = range(start, min(start + shard_size, len(ds)))
        shards.append(_write_shard(out / name, ds, rows, encoding, quality, labelled))
    image = {"width": side, "height": side, "channels": channels, "encoding": encoding}
    record = write_manifest(out, shards, image, ds.class_names, ds.num_classes)
    return PackResult(out, record["count"], len(shards), side, channels, record["fingerprint"])


def _encode(pixels: np.ndarray, encoding: str, quality: int) -> bytes:
    """uint8 [H, W, C] -> PNG or JPEG bytes."""
    img = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    buf = io.BytesIO()
    if encoding == "jpg":
        img.save(buf, format="JPEG", quality=quality)
    else:
        img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _write_shard(path: Path, ds, rows: range, encoding: str, quality: int,
                 labelled: bool) -> dict:
    """One tar of `rows` (members `<key>.<encoding>` [+ `<key>.cls`]) and its manifest entry."""
    pre = ds.tensors()
    tmp = path.with_suffix(".tar.tmp")
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for i in rows:
            image = pre[0][i] if pre is not None else to_uint8(ds[i][0])  # [C, H, W] uint8
            members = [(f"{i:09d}.{encoding}",
                        _encode(image.permute(1, 2, 0).numpy(), encoding, quality))]
            if labelled:
                members.append((f"{i:09d}.cls", str(int(ds.labels[i])).encode()))
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
    samples = _index(tmp, encoding, ds, rows, labelled)
    tmp.replace(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"name": path.name, "count": len(samples), "bytes": path.stat().st_size,
            "sha256": digest, "samples": samples}


def _index(path: Path, encoding: str, ds, rows: range, labelled: bool) -> list[list[int]]:
    """[offset, size, crc32, label] per image member, read back from the written tar."""
    out = []
    with tarfile.open(path, "r:") as tar, path.open("rb") as fh:
        for member in tar:
            if not member.name.endswith("." + encoding):
                continue
            fh.seek(member.offset_data)
            crc = zlib.crc32(fh.read(member.size))
            i = int(member.name.split(".")[0])
            label = int(ds.labels[i]) if labelled else -1
            out.append([member.offset_data, member.size, crc, label])
    if len(out) != len(rows):
        raise RuntimeError(f"{path}: wrote {len(rows)} images but indexed {len(out)}")
    return out


__all__ = ["MANIFEST", "PackResult", "native_size", "pack"]
