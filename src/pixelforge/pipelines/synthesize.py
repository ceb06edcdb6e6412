"""A synthetic copy of a data set from a generator: uint8 NHWC images `x`, class labels `y` for
conditional models (balanced: class i % K), and the run's privacy record in the file's metadata
(`meta`: a one-element string array holding JSON, readable without pickle). Or one PNG per
image in a folder, with labels.csv and synthesize.json. Sampling is post-processing: the file
keeps the run's differential-privacy guarantee."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pixelforge.checkpoint import privacy_record
from pixelforge.core.files import atomic_write_bytes, atomic_write_text
from pixelforge.core.images import save_images, to_uint8
from pixelforge.errors import UserError
from pixelforge.pipelines.sampling import iter_generate

PNG_OVERHEAD = 1024  # bytes per PNG beyond its pixels, a generous bound for small images
HEADROOM = 1.1


def is_folder_target(out: str | Path) -> bool:
    """`DIR/`, an existing folder, or a path without the .npz suffix: a folder of PNGs."""
    text = str(out)
    return text.endswith(("/", "\\")) or Path(text).is_dir() or Path(text).suffix != ".npz"


def bytes_needed(n: int, shape: tuple[int, int, int], folder: bool) -> int:
    """An upper estimate of the output's size: raw pixels (+ labels), per-file overhead."""
    c, h, w = shape
    per = c * h * w + (PNG_OVERHEAD if folder else 8)
    return int(n * per * HEADROOM) + 4096


def check_request(n: int, out: str | Path, shape: tuple[int, int, int]) -> None:
    """Refuse n < 1 and an output the free disk space cannot hold (checked before sampling)."""
    if n < 1:
        raise UserError(f"n={n}: synthesize needs at least one image", field="n")
    folder = is_folder_target(out)
    target = Path(out)
    probe = target if folder and target.is_dir() else target.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    need = bytes_needed(n, shape, folder)
    if need > free:
        raise UserError(f"n={n}: {n} images of {shape[1]}x{shape[2]}x{shape[0]} need about "
                        f"{need / 1e9:.3g} GB at {out}, but only {free / 1e9:.3g} GB are free",
                        field="n")


def synthesize(pipeline, ckpt: Path, n: int, out: str | Path, *, seed: int = 0,
               batch_size: int = 256) -> dict[str, Any]:
    """Sample n images from a generate/autoencode pipeline into `out`; returns the metadata."""
    gen = pipeline.generator
    shape = (int(gen.channels), int(gen.image_size), int(gen.image_size))
    check_request(n, out, shape)
    k = int(getattr(gen, "num_classes", 0) or 0)
    labels = torch.arange(n) % k if k else None
    meta = {"checkpoint": str(ckpt), "model": pipeline.family, "n": n, "seed": seed,
            "image_shape_nhwc": [shape[1], shape[2], shape[0]], "num_classes": k,
            "labels": "balanced: image i has class i % num_classes" if k else None,
            "privacy": privacy_record(ckpt),
            "privacy_note": "sampling is post-processing: the DP guarantee of the run holds"}
    chunks = iter_generate(gen, n, seed, labels=labels, batch_size=batch_size)
    if is_folder_target(out):
        _write_folder(chunks, Path(out), labels, meta)
    else:
        _write_npz(chunks, Path(out), labels, meta)
    return meta


def _write_folder(chunks, folder: Path, labels, meta: dict[str, Any]) -> None:
    count = 0
    for chunk in chunks:
        count += len(save_images(chunk.clamp(-1, 1), folder, prefix="synth", start=count))
    if labels is not None:
        rows = "".join(f"synth-{i:04d}.png,{int(y)}\n" for i, y in enumerate(labels))
        atomic_write_text(folder / "labels.csv", "file,label\n" + rows)
    atomic_write_text(folder / "synthesize.json", json.dumps(meta, indent=2) + "\n")


def _write_npz(chunks, path: Path, labels, meta: dict[str, Any]) -> None:
    x = np.concatenate([to_uint8(c.clamp(-1, 1)).permute(0, 2, 3, 1).numpy() for c in chunks])
    arrays = {"x": x, "meta": np.array([json.dumps(meta)])}
    if labels is not None:
        arrays["y"] = labels.numpy().astype(np.int64)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def read_meta(path: str | Path) -> dict[str, Any]:
    """The metadata of a synthesize .npz (no pickle)."""
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f["meta"][0]))
