"""Loaded pipelines the studio keeps between requests, and the content hash naming their weights.

Inference only: everything loads through `pixelforge.api.load`, never through training code.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from pixelforge.errors import UserError

_lock = threading.Lock()
_cache: dict[tuple[str, float], Any] = {}
_hashes: dict[tuple[str, float], str] = {}
CACHE_SIZE = 4


def weight_files(ckpt: Path) -> list[Path]:
    """The safetensors weights of a checkpoint folder (old single-network or component layout)."""
    files = [ckpt / "model.safetensors"] if (ckpt / "model.safetensors").is_file() else []
    files += sorted(ckpt.glob("*/model.safetensors"))
    return files


def _stamp(ckpt: Path) -> float:
    files = weight_files(ckpt)
    return max((f.stat().st_mtime for f in files), default=0.0)


def model_hash(ckpt: Path) -> str:
    """sha256 (first 16 hex digits) over a checkpoint's weight files: names a model's exact
    weights in PNG metadata, wherever the folder was copied."""
    key = (str(ckpt), _stamp(ckpt))
    if key not in _hashes:
        h = hashlib.sha256()
        for f in weight_files(ckpt):
            h.update(f.relative_to(ckpt).as_posix().encode())
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        _hashes[key] = h.hexdigest()[:16]
    return _hashes[key]


def load_cached(ckpt: Path) -> Any:
    """`pixelforge.load` of a checkpoint folder (its pipeline, or a bare network), kept in a small
    cache keyed by the weights' modification time."""
    from pixelforge import api

    key = (str(ckpt), _stamp(ckpt))
    with _lock:
        if key in _cache:
            return _cache[key]
    obj = api.load(ckpt)
    with _lock:
        _cache[key] = obj
        while len(_cache) > CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
    return obj


def load_generate(ckpt: Path):
    """The cached generate (or autoencode) pipeline of a checkpoint; UserError for other models."""
    from pixelforge.pipelines.generate import GeneratePipeline

    obj = load_cached(ckpt)
    if not isinstance(obj, GeneratePipeline):
        name = getattr(obj, "name", None) or type(obj).__name__
        raise UserError(f"this checkpoint holds a {name!r} model, not a generator")
    return obj
