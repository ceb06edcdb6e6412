"""`colorize_files`: colourise image files with a chroma-only colouriser, keeping each input's
luma exactly, at its own bit depth.

The luma of an input is its gray level (L, LA, I;16 files), or for an RGB file its BT.601 luma
Y = round(0.299 R + 0.587 G + 0.114 B) at the file's depth (a colour picture is reported through
`on_note`: its own colours are replaced). The network sees that luma as a float (full depth for
16-bit files) and predicts Cb, Cr; `core.chroma.exact_rgb` recombines them with the integer luma,
so the output's rounded BT.601 luma equals the input's exactly: at 8 bits for 8-bit inputs and
at 16 bits for 16-bit PNG/TIFF (written as 16-bit RGB). That holds for lossless outputs (png, tif,
bmp); jpg and webp are lossy and 8-bit. Alpha passes through; metadata as every file job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from pixelforge.core.chroma import KB, KG, KR, exact_rgb
from pixelforge.files.imageio import LoadedImage
from pixelforge.files.jobs import JobReport, OnSkip, Result, _planned, run_jobs


def luma_levels(img: LoadedImage) -> tuple[np.ndarray, bool]:
    """The input's integer luma [H, W] (uint8/uint16 at img.bits) and whether it had colour."""
    peak = float((1 << img.bits) - 1)
    levels = (img.rgb[0].float() + 1).mul_(peak / 2).round_()  # [3, H, W], exact integers
    if img.gray:
        y, colour = levels[0], False
    else:
        r, g, b = levels
        colour = bool((r != g).any() or (g != b).any())
        y = (KR * r + KG * g + KB * b).round_() if colour else r
    return y.numpy().astype(np.uint16 if img.bits == 16 else np.uint8), colour


def colorize_image(pipe, img: LoadedImage, **options) -> tuple[torch.Tensor, bool]:
    """One decoded file -> (RGB [1, 3, H, W] in [-1, 1] holding exact integer levels, had colour)."""
    luma, colour = luma_levels(img)
    peak = float((1 << img.bits) - 1)
    x = torch.from_numpy(luma.astype(np.float32)).div_(peak / 2).sub_(1)[None, None]
    chroma = pipe.chroma(x, **options)[0].numpy()  # [2, H, W]
    del x
    rgb = exact_rgb(luma, chroma, img.bits)  # [H, W, 3]
    out = torch.from_numpy(rgb.astype(np.float32)).div_(peak / 2).sub_(1)
    return out.permute(2, 0, 1).unsqueeze(0), colour


def colorize_files(pipe, items: list[str | Path], out_dir: str | Path, *,
                   fmt: str | None = None, overwrite: bool = False, skip_bad: bool = False,
                   on_skip: OnSkip | None = None, on_note: Callable[[str], None] | None = None,
                   **options) -> JobReport:
    """Colourise image files with a ColorizePipeline into out_dir, one RGB file per input (module
    docstring). `options` go to `pipe.chroma` (tile, tile_pad, precision, max_memory, gain)."""
    jobs = _planned(items, out_dir, fmt, overwrite, options.get("precision", "auto"),
                    options.get("max_memory"))

    def run(img: LoadedImage) -> Result:
        rgb, colour = colorize_image(pipe, img, **options)
        if colour and on_note:
            on_note(f"{img.path}: a colour picture; colourised from its BT.601 luma (its own "
                    "colours are replaced)")
        return rgb, img.alpha

    return run_jobs(jobs, run, skip_bad=skip_bad, on_skip=on_skip, gray=False)
