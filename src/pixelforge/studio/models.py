"""Models the studio can use: loading (cached), content hashes, and the per-kind tools.

Inference only: goes through pixelforge.api / pipelines, never through training code. A model
kind plugs into the Restore page by registering a `Restorer` in RESTORERS.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pixelforge.errors import UserError
from pixelforge.models.base import Generator, PixelforgeModule

_lock = threading.Lock()
_cache: dict[tuple[str, float], PixelforgeModule] = {}
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


def load_model(ckpt: Path) -> Any:
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


def generator_of(obj: Any) -> Generator:
    """The generator of a loaded generate/autoencode pipeline (or a bare generator network)."""
    net = obj if isinstance(obj, PixelforgeModule) else getattr(obj, "model", None)
    if not isinstance(net, Generator):
        name = getattr(obj, "name", None) or type(obj).__name__
        raise UserError(f"this checkpoint holds a {name!r} model, not a generator")
    return net.eval()


@torch.no_grad()
def generate(gen: Generator, count: int, seed: int, *, truncation: float | None,
             label: int | None) -> torch.Tensor:
    """count images [N, C, H, W] in [-1, 1]; fp32 so the same seed gives the same pixels on any
    CPU (the noise is drawn on the CPU from the seed)."""
    from pixelforge.pipelines.sampling import generate_images

    return generate_images(gen, count, seed, labels=label, truncation=truncation,
                           precision="fp32")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight-line interpolation of [D] vectors at times t [T] -> [T, D]."""
    t = t[:, None]
    return (1 - t) * a + t * b


@torch.no_grad()
def walk(gen: Generator, seed_a: int, seed_b: int, frames: int, *, method: str,
         truncation: float | None, label: int | None) -> torch.Tensor:
    """Frames [T, C, H, W] from seed_a's latent to seed_b's, by slerp (the pipeline) or lerp."""
    from pixelforge.pipelines.interpolate import interpolate

    if method == "slerp":
        return interpolate(gen, seed_a, seed_b, frames, label=label, truncation=truncation)
    if method != "lerp":
        raise UserError(f"method must be lerp or slerp, not {method!r}")
    if frames < 2:
        raise UserError(f"frames must be at least 2 (got {frames})")
    za, zb = gen.sample_latent(1, seed_a)[0], gen.sample_latent(1, seed_b)[0]
    z = lerp(za, zb, torch.linspace(0, 1, frames))  # [T, Z]
    if label is None and gen.num_classes:
        label = 0  # one class for the whole walk, as the pipeline does
    y = gen.resolve_labels(label, frames) if label is not None else None
    return gen.synthesize(z, y, truncation).float().clamp(-1, 1)


def has_styles(gen: Generator) -> bool:
    """A style-based generator (stylegan-lite): mapping z -> w, synthesis from one w per layer."""
    return all(hasattr(gen, a) for a in ("mapping", "synthesis", "num_ws"))


@torch.no_grad()
def style_mix(gen: Generator, seed_a: int, seed_b: int, *, truncation: float | None,
              label: int | None) -> torch.Tensor:
    """Frames [num_ws + 1, C, H, W]: frame k takes its first num_ws - k styles from seed A and
    the rest from seed B (Karras et al. 2019), so the walk hands B's styles over coarse-last:
    frame 0 is A, the last frame is B."""
    if not has_styles(gen):
        raise UserError(f"{gen.family} is not style-based: style mixing needs stylegan-lite")
    if label is None and gen.num_classes:
        label = 0
    y = gen.resolve_labels(label, 2) if label is not None else None
    z = torch.cat([gen.sample_latent(1, seed_a), gen.sample_latent(1, seed_b)])  # [2, Z]
    gen.eval()
    w = gen.mapping(z, y).float()  # [2, W]
    if truncation is not None:
        w = gen.w_avg + truncation * (w - gen.w_avg)
    n = gen.num_ws
    frames = []
    for k in range(n + 1):
        cut = n - k
        ws = torch.cat([w[0].expand(cut, -1), w[1].expand(n - cut, -1)])  # [num_ws, W]
        frames.append(gen.synthesis(ws[None]).float())
    return torch.cat(frames).clamp(-1, 1)


def image_tensor(image, size: int, channels: int) -> torch.Tensor:
    """A PIL image -> float [C, S, S] in [-1, 1], resized (Lanczos) and converted like the data."""
    from PIL import Image

    from pixelforge.core.images import to_float

    im = image.convert("L" if channels == 1 else "RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(im)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # [C, S, S]
    return to_float(torch.from_numpy(arr.copy()))


def vae_walk(model: Generator, image_a, image_b, frames: int) -> torch.Tensor:
    """Frames [T, C, H, W] between two images' posterior means (VAE-family models)."""
    from pixelforge.pipelines.autoencode import interpolate_images, require_autoencoder

    require_autoencoder(model)
    a = image_tensor(image_a, model.image_size, model.channels)
    b = image_tensor(image_b, model.image_size, model.channels)
    labels = (0, 0) if model.num_classes else None
    return interpolate_images(model, a, b, frames, labels=labels)


# --- restoration and translation ------------------------------------------------------------

@dataclass(frozen=True)
class Restorer:
    """How the Restore page runs one pipeline: `run(pipeline, image [1, 3, H, W] in [-1, 1],
    mask [1, 1, H, W] (1 = hole) or None) -> image tensor`. needs_mask: show the mask canvas."""

    pipeline: str
    run: Callable[..., torch.Tensor]
    needs_mask: bool = False


RESTORERS: dict[str, Restorer] = {}


def register_restorer(restorer: Restorer) -> Restorer:
    """Make the Restore page offer every checkpoint whose model_index.json names this pipeline."""
    RESTORERS[restorer.pipeline] = restorer
    return restorer


register_restorer(Restorer("denoise", lambda p, x, m: p.denoise(x, precision="fp32")))
register_restorer(Restorer("upscale", lambda p, x, m: p.upscale(x, precision="fp32")))
register_restorer(Restorer("inpaint", lambda p, x, m: p.inpaint(x, m, precision="fp32"),
                           needs_mask=True))
register_restorer(Restorer("translate", lambda p, x, m: p.translate(x)))


def restore(pipe: Any, pipeline: str, image, mask=None):
    """Run a restoration/translation pipeline on a PIL image (+ PIL mask, 255 = hole) -> PIL."""
    from pixelforge.core.images import to_float, to_pil

    r = RESTORERS.get(pipeline)
    if r is None:
        raise UserError(f"the studio has no page for pipeline {pipeline!r}")
    rgb = np.asarray(image.convert("RGB"))  # [H, W, 3]
    x = to_float(torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None])  # [1, 3, H, W]
    m = None
    if r.needs_mask:
        if mask is None:
            raise UserError("draw the hole to fill on the image first")
        m = torch.from_numpy((np.asarray(mask.convert("L")) > 127).astype(np.float32))[None, None]
    out = r.run(pipe, x, m)  # [1, C, H', W'] in [-1, 1]
    return to_pil(out.float().clamp(-1, 1))[0]
