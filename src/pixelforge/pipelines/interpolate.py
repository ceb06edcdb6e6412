"""Latent walks: spherical interpolation between two seeds' latents (White 2016), saved as GIF/MP4."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelforge.core.images import to_uint8
from pixelforge.errors import UserError
from pixelforge.models.base import Generator
from pixelforge.pipelines.sampling import check_truncation, inference, map_batches


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of [D] vectors a, b at times t [T] -> [T, D]; lerp when parallel."""
    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_n * b_n).sum().clamp(-1.0, 1.0))
    t = t[:, None]
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


def interpolate(generator: Generator, seed_a: int, seed_b: int, frames: int = 48,
                batch_size: int = 64, *, label: int | None = None,
                truncation: float | None = None, precision: str = "fp32") -> torch.Tensor:
    """Images [frames, C, H, W] walking from seed_a's latent to seed_b's (endpoints included).

    label: the class of every frame for class-conditional generators (default 0, so the walk
    stays in one class); truncation: psi in (0, 1] as in generate; precision as in generate
    (default fp32, as before)."""
    if frames < 2:
        raise UserError(f"--frames must be at least 2 (got {frames})")
    check_truncation(truncation)
    if label is None and generator.num_classes:
        label = 0
    y = generator.resolve_labels(label, frames) if label is not None else None
    za = generator.sample_latent(1, seed_a)[0]
    zb = generator.sample_latent(1, seed_b)[0]
    z = slerp(za, zb, torch.linspace(0, 1, frames))  # [T, Z]

    def run(zi: torch.Tensor, yi: torch.Tensor | None) -> torch.Tensor:
        return generator.synthesize(zi, yi, truncation)

    with inference(generator, precision) as (device, prec):
        outs = list(map_batches(run, z, y, batch_size=batch_size, device=device, precision=prec))
    return torch.cat(outs).clamp_(-1, 1)


def save_animation(frames: torch.Tensor, path: str | Path, fps: int = 12, loop: bool = True,
                   scale: int = 1) -> Path:
    """Write frames [T, C, H, W] in [-1, 1] to .gif (or .mp4 when imageio-ffmpeg is installed)."""
    import imageio.v3 as iio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = to_uint8(frames)
    if scale > 1:
        arr = arr.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
    arr = arr.permute(0, 2, 3, 1).numpy()  # [T, H, W, C]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    if loop:  # walk there and back so the loop has no jump
        arr = np.concatenate([arr, arr[-2:0:-1]])
    suffix = path.suffix.lower()
    if suffix == ".gif":
        iio.imwrite(path, arr, duration=1000 / fps, loop=0)
    elif suffix == ".mp4":
        try:
            iio.imwrite(path, arr, fps=fps, codec="libx264", plugin="FFMPEG")
        except Exception as exc:  # imageio-ffmpeg missing or codec error
            raise UserError(f"cannot write {path}: {exc}; install imageio-ffmpeg or use .gif") from None
    else:
        raise UserError(f"--out {path}: use a .gif or .mp4 file name")
    return path
