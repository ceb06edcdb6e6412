"""Latent walks between two seeds: spherical (White 2016) or straight-line interpolation, and
style mixing (Karras et al. 2019) for style-based generators; saved as GIF/MP4."""

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


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight-line interpolation of [D] vectors a, b at times t [T] -> [T, D]."""
    t = t[:, None]
    return (1 - t) * a + t * b


WALKS = {"slerp": slerp, "lerp": lerp}


def _walk_labels(generator: Generator, label: int | None, n: int) -> torch.Tensor | None:
    """One class for the whole walk: `label`, or 0 for class-conditional generators."""
    if label is None and generator.num_classes:
        label = 0
    return generator.resolve_labels(label, n) if label is not None else None


def interpolate(generator: Generator, seed_a: int, seed_b: int, frames: int = 48,
                batch_size: int = 64, *, label: int | None = None,
                truncation: float | None = None, precision: str = "fp32",
                method: str = "slerp") -> torch.Tensor:
    """Images [frames, C, H, W] walking from seed_a's latent to seed_b's (endpoints included).

    method: "slerp" (spherical, the default) or "lerp" (straight line); label: the class of
    every frame for class-conditional generators (default 0, so the walk stays in one class);
    truncation: psi in (0, 1] as in generate; precision as in generate (default fp32)."""
    if method not in WALKS:
        raise UserError(f"method={method!r}: use {' or '.join(WALKS)}", field="method")
    if frames < 2:
        raise UserError(f"frames={frames}: must be at least 2", field="frames")
    check_truncation(truncation)
    y = _walk_labels(generator, label, frames)
    za = generator.sample_latent(1, seed_a)[0]
    zb = generator.sample_latent(1, seed_b)[0]
    z = WALKS[method](za, zb, torch.linspace(0, 1, frames))  # [T, Z]

    def run(zi: torch.Tensor, yi: torch.Tensor | None) -> torch.Tensor:
        return generator.synthesize(zi, yi, truncation)

    with inference(generator, precision) as (device, prec):
        outs = list(map_batches(run, z, y, batch_size=batch_size, device=device, precision=prec))
    return torch.cat(outs).clamp_(-1, 1)


def is_style_based(generator: Generator) -> bool:
    """A style-based generator (stylegan-lite): mapping z -> w, synthesis from one w per layer."""
    return all(hasattr(generator, a) for a in ("mapping", "synthesis", "num_ws"))


def style_mix(generator: Generator, seed_a: int, seed_b: int, *,
              truncation: float | None = None, label: int | None = None) -> torch.Tensor:
    """Frames [num_ws + 1, C, H, W]: frame k takes its first num_ws - k styles from seed A and
    the rest from seed B (Karras et al. 2019), so the walk hands B's styles over coarse-last:
    frame 0 is A, the last frame is B. fp32, so a seed gives the same frames on any CPU."""
    if not is_style_based(generator):
        raise UserError(f"{generator.family} is not style-based: style mixing needs "
                        "stylegan-lite")
    check_truncation(truncation)
    y = _walk_labels(generator, label, 2)
    z = torch.cat([generator.sample_latent(1, seed_a), generator.sample_latent(1, seed_b)])
    n = generator.num_ws
    with inference(generator, "fp32", channels_last="off") as (device, _):
        w = generator.mapping(z.to(device), y if y is None else y.to(device)).float()  # [2, W]
        if truncation is not None:
            w = generator.w_avg + truncation * (w - generator.w_avg)
        frames = []
        for k in range(n + 1):
            cut = n - k
            ws = torch.cat([w[0].expand(cut, -1), w[1].expand(n - cut, -1)])  # [num_ws, W]
            frames.append(generator.synthesis(ws[None]).float().cpu())
    return torch.cat(frames).clamp(-1, 1)


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
        raise UserError(f"path={str(path)!r}: use a .gif or .mp4 file name", field="path")
    return path
