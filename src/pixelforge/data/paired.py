"""Paired image sets for image-to-image training: two aligned sources (folders matched by file
name, or arrays / other specs matched by row), or one source of side-by-side input|target images
(the pix2pix layout) split down the middle here, in the data layer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from pixelforge.data.dataset import ImageDataset
from pixelforge.data.decode import PIL_FILTERS, crop_resize, to_channels, upright
from pixelforge.data.file_source import dataset_from_files
from pixelforge.data.fingerprint import file_stat_identity, files_digest, make_fingerprint
from pixelforge.data.folder_source import scan_images, split_folder
from pixelforge.data.options import LoadOptions, side_channels
from pixelforge.data.pixels import prepare_array
from pixelforge.data.shards import is_shard_folder
from pixelforge.data.spec import load_images, split_npz_key
from pixelforge.errors import UserError


def _opts(cfg: Any) -> LoadOptions:
    m, d = cfg.model, cfg.data
    return LoadOptions(image_size=m.image_size, channels=m.channels, split=d.split,
                       limit=d.limit, resize_filter=d.resize_filter)


def load_paired(cfg: Any) -> tuple[ImageDataset, ImageDataset]:
    """(A, B) of equal length, row i of one the pair of row i of the other; each set with its
    own channels (options.side_channels: a gray A and a colour B stay gray and colour)."""
    d, opts = cfg.data, _opts(cfg)
    if d.path_b is None:
        return load_side_by_side(d.path, opts)
    ca, cb = side_channels(cfg)
    opts_a, opts_b = replace(opts, channels=ca), replace(opts, channels=cb)
    a_path, b_path = Path(d.path).expanduser(), Path(d.path_b).expanduser()
    shards = is_shard_folder(a_path) or is_shard_folder(b_path)  # row i pairs row i
    if a_path.is_dir() and b_path.is_dir() and not shards:
        return _matched_folders(a_path, b_path, opts_a, opts_b)
    a = load_images(d.path, **opts_a.as_dict())
    b = load_images(d.path_b, **opts_b.as_dict())
    if len(a) != len(b):
        raise UserError(f"data.path has {len(a)} images but data.path_b has {len(b)}: paired "
                        "sets must match row by row")
    return a, b


def _matched_folders(a_root: Path, b_root: Path, opts: LoadOptions, opts_b: LoadOptions
                     ) -> tuple[ImageDataset, ImageDataset]:
    """Files of the two folders paired by relative path without extension (a/1.jpg ~ b/1.png)."""
    bases = split_folder(a_root, opts.split), split_folder(b_root, opts.split)
    maps = []
    for base in bases:
        files, _ = scan_images(base)
        maps.append({p.relative_to(base).with_suffix("").as_posix(): p for p in files})
    names_a, names_b = set(maps[0]), set(maps[1])
    for field, base, missing in (("data.path_b", bases[1], names_a - names_b),
                                 ("data.path", bases[0], names_b - names_a)):
        if missing:
            raise UserError(f"{field}: {base} has no image named like {sorted(missing)[0]!r} "
                            f"({len(missing)} unmatched); paired folders must hold the same "
                            "file names")
    names = sorted(names_a)
    if not names:
        raise UserError(f"no images in folder {bases[0]}")
    parts = []
    for field, base, m, side in (("data.path", bases[0], maps[0], opts),
                                 ("data.path_b", bases[1], maps[1], opts_b)):
        paths = [m[n] for n in names]
        ds = dataset_from_files(paths, [-1] * len(paths), side, num_classes=0,
                                source=f"folder {base}",
                                identity={"kind": "paired-folder", "path": str(base.resolve()),
                                          "files": files_digest(base, paths)})
        if ds.skipped:
            raise UserError(f"{field}: cannot read {ds.skipped[0][0]} ({ds.skipped[0][1]}); "
                            "every file of a pair must be readable")
        parts.append(ds)
    return parts[0], parts[1]


def load_side_by_side(spec: str, opts: LoadOptions) -> tuple[ImageDataset, ImageDataset]:
    """Images twice as wide as high, input on the left half, target on the right."""
    path, key = split_npz_key(spec)
    if path.is_dir():
        base = split_folder(path, opts.split)
        files, _ = scan_images(base)
        if not files:
            raise UserError(f"data.path: no images in folder {base}")
        files = files[:opts.take(len(files))]
        halves = [_decode_halves(f, opts) for f in files]
        left = torch.stack([h[0] for h in halves])
        right = torch.stack([h[1] for h in halves])
        identity = {"kind": "side-by-side", "path": str(base.resolve()),
                    "files": files_digest(base, files)}
        source = f"folder {base}"
    elif path.is_file() and path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            k = key or (f"x_{opts.split}" if f"x_{opts.split}" in archive.files else "x")
            if k not in archive.files:
                raise UserError(f"data.path: {path} has no array {k!r}")
            array = archive[k]
        if array.ndim != 4 or array.dtype != np.uint8 or array.shape[2] % 2:
            raise UserError(f"data.path: {path}[{k}] must be uint8 NHWC side-by-side images of "
                            f"even width, not {array.dtype} {array.shape}")
        array = array[:opts.take(len(array))]
        w = array.shape[2] // 2
        left, right = prepare_array(array[:, :, :w], opts), prepare_array(array[:, :, w:], opts)
        identity = {**file_stat_identity(path), "key": k, "kind": "side-by-side"}
        source = f"npz {path}[{k}]"
    else:
        raise UserError(f"data.path: side-by-side paired data must be a folder or .npz, not "
                        f"{spec!r} (or set data.path_b to the targets)")
    return tuple(_dataset(x, f"{source} {side} halves", {**identity, "side": side}, opts)
                 for x, side in ((left, "left"), (right, "right")))


def _decode_halves(path: Path, opts: LoadOptions) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        with Image.open(path) as img:
            img = to_channels(upright(img), opts.channels)
            w, h = img.size
            halves = [img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w // 2 * 2, h))]
            out = []
            for half in halves:
                half = crop_resize(half, opts.image_size, PIL_FILTERS[opts.resize_filter])
                arr = np.asarray(half).reshape(opts.image_size, opts.image_size, -1)
                out.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous())
    except (OSError, ValueError) as exc:
        raise UserError(f"data.path: cannot read {path}: {exc}") from None
    return out[0], out[1]


def _dataset(images: torch.Tensor, source: str, identity: dict, opts: LoadOptions
             ) -> ImageDataset:
    return ImageDataset(images=images, labels=torch.full((len(images),), -1, dtype=torch.long),
                        num_classes=0, description=f"{source} {len(images)} images -> "
                        f"{opts.target}", fingerprint=make_fingerprint(identity, opts),
                        image_size=opts.image_size, channels=opts.channels)
