"""Run an image-to-image pipeline over files: denoise_files, upscale_files, inpaint_files,
translate_files. Each takes files, folders or globs and an output folder, and writes one file per
input in the input's mode, bit depth, orientation (upright) and metadata.

Bad inputs: by default every input is decoded once before anything is written, and one bad file
refuses the whole batch (UserError naming it; nothing written). With skip_bad=True the bad files
are reported through `on_skip(path, reason)` and left out, the rest are written, and the
returned JobReport lists both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from pixelforge.core.precision import check_precision
from pixelforge.errors import UserError
from pixelforge.files.imageio import LoadedImage, check_image, read_image, read_mask, write_result
from pixelforge.files.plan import plan_jobs
from pixelforge.pipelines.budget import max_memory_bytes

OnSkip = Callable[[Path, str], None]
CheckSize = Callable[[Path, tuple[int, int]], None]
Result = tuple[torch.Tensor, torch.Tensor | None]  # rgb [1, C, H, W], alpha [1, 1, H, W] or None


@dataclass
class JobReport:
    """What a file job wrote and which inputs it left out (with the reason)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.written) + len(self.skipped)


def _reason(exc: UserError, path: Path) -> str:
    """The message without the leading '<path>: ' the readers put there."""
    text = str(exc)
    return text[len(str(path)) + 2:] if text.startswith(f"{path}: ") else text


def check_inputs(jobs: list[tuple[Path, Path]], *, skip_bad: bool,
                 on_skip: OnSkip | None = None, check_size: CheckSize | None = None,
                 ) -> tuple[list[tuple[Path, Path]], JobReport]:
    """Decode every input once (and check_size(path, (w, h)) it); refuse the batch on a bad one,
    or (skip_bad) drop and report it."""
    report, good, bad = JobReport(), [], []
    for src, dst in jobs:
        try:
            size = check_image(src)
            if check_size:
                check_size(src, size)
        except UserError as exc:
            bad.append((src, exc))
            continue
        good.append((src, dst))
    if bad and not skip_bad:
        src, exc = bad[0]
        more = f" (and {len(bad) - 1} more bad file(s))" if len(bad) > 1 else ""
        raise UserError(f"{exc}{more}; nothing was written (pass skip_bad=True to process the "
                        "other files)", field="skip_bad")
    for src, exc in bad:
        report.skipped.append((src, _reason(exc, src)))
        if on_skip:
            on_skip(src, _reason(exc, src))
    return good, report


def run_jobs(jobs: list[tuple[Path, Path]], fn: Callable[[LoadedImage], Result], *,
             skip_bad: bool = False, on_skip: OnSkip | None = None,
             gray: bool | None = None, check_size: CheckSize | None = None) -> JobReport:
    """Check the inputs, then read each, fn(image) -> (rgb, alpha), write it beside its metadata.

    `gray` None writes each output in its input's colour mode; True/False forces gray/colour."""
    good, report = check_inputs(jobs, skip_bad=skip_bad, on_skip=on_skip, check_size=check_size)
    for src, dst in good:
        try:
            img = read_image(src)
        except UserError as exc:  # changed since the check, or failed past Pillow (16-bit)
            if not skip_bad:
                raise
            report.skipped.append((src, _reason(exc, src)))
            if on_skip:
                on_skip(src, _reason(exc, src))
            continue
        rgb, alpha = fn(img)
        gray_out = img.gray if gray is None else gray
        bits, meta = img.bits, img.meta
        del img  # free the input pixels before encoding the output (big photos)
        report.written.append(write_result(dst, rgb, alpha, gray=gray_out, bits=bits, meta=meta))
    return report


def _planned(items, out_dir, fmt, overwrite, precision,
             max_memory=None) -> list[tuple[Path, Path]]:
    """Options and paths checked, (input, output) pairs planned: all before any work."""
    check_precision(precision)
    max_memory_bytes(max_memory)
    return plan_jobs(items, out_dir, fmt, overwrite=overwrite)


def denoise_files(pipe, items: list[str | Path], out_dir: str | Path, *, tile: int | None = None,
                  tile_pad: int | None = None, precision: str = "auto",
                  max_memory: float | int | str | None = None, fmt: str | None = None,
                  overwrite: bool = False, skip_bad: bool = False,
                  on_skip: OnSkip | None = None) -> JobReport:
    """Denoise image files with a DenoisePipeline into out_dir (see the module docstring)."""
    def run(img: LoadedImage) -> Result:
        return pipe.denoise(img.rgb, tile=tile, tile_pad=tile_pad, precision=precision,
                            max_memory=max_memory), img.alpha

    return run_jobs(_planned(items, out_dir, fmt, overwrite, precision, max_memory), run,
                    skip_bad=skip_bad, on_skip=on_skip)


def upscale_files(pipe, items: list[str | Path], out_dir: str | Path, *, tile: int | None = None,
                  tile_pad: int | None = None, precision: str = "auto",
                  max_memory: float | int | str | None = None, fmt: str | None = None,
                  overwrite: bool = False, skip_bad: bool = False,
                  on_skip: OnSkip | None = None) -> JobReport:
    """Upscale image files with an UpscalePipeline (alpha upscaled on its own with bicubic)."""
    jobs = _planned(items, out_dir, fmt, overwrite, precision, max_memory)

    def run(img: LoadedImage) -> Result:
        rgb = pipe.upscale(img.rgb, tile=tile, tile_pad=tile_pad, precision=precision,
                           max_memory=max_memory)
        return rgb, pipe.upscale_alpha(img.alpha) if img.alpha is not None else None

    return run_jobs(jobs, run, skip_bad=skip_bad, on_skip=on_skip)


def inpaint_files(pipe, items: list[str | Path], out_dir: str | Path, *,
                  mask: str | Path | None = None, box: tuple[int, int, int, int] | None = None,
                  precision: str = "auto", fmt: str | None = None, overwrite: bool = False,
                  skip_bad: bool = False, on_skip: OnSkip | None = None,
                  on_warning: Callable[[str], None] | None = None,
                  max_memory: float | int | str | None = None) -> JobReport:
    """Fill the holes given by a mask file (white = hole) or a box (x, y, w, h) in image files
    (a hole too large for `max_memory` is filled at a lower resolution: InpaintPipeline).

    A mask with no hole pixel copies each input unchanged (with a warning through `on_warning`);
    a mask that is all hole is refused (there is nothing left to fill from)."""
    from pixelforge.data.masks import box_mask

    if (mask is None) == (box is None):
        raise UserError("give exactly one of mask= (an image, white = hole) or box=(x, y, w, h)",
                        field="mask")
    jobs = _planned(items, out_dir, fmt, overwrite, precision)
    hole = check_mask(read_mask(mask), mask, on_warning) if mask is not None else None

    def fits(src: Path, size: tuple[int, int]) -> None:
        w, h = size
        if box is not None:
            box_mask(h, w, *box)  # refuses a box outside this picture
        if hole is not None and tuple(hole.shape[-2:]) != (h, w):
            raise UserError(f"{src}: the picture is {w}x{h} but mask {mask} is "
                            f"{hole.shape[-1]}x{hole.shape[-2]}; they must match")

    def run(img: LoadedImage) -> Result:
        w, h = img.size
        m = hole if hole is not None else box_mask(h, w, *box)[None]
        if not bool(m.any()):
            return img.rgb, img.alpha
        return pipe.inpaint(img.rgb, m, precision=precision, max_memory=max_memory), img.alpha

    return run_jobs(jobs, run, skip_bad=skip_bad, on_skip=on_skip, check_size=fits)


def check_mask(hole: torch.Tensor, path: str | Path,
               on_warning: Callable[[str], None] | None) -> torch.Tensor:
    """Refuse an all-hole mask; warn about an empty one (the inputs are then copied unchanged)."""
    if bool((hole > 0.5).all()):
        raise UserError(f"mask {path}: every pixel is white (hole), so nothing is left to fill "
                        "from; white marks only the pixels to fill", field="mask")
    if not bool((hole > 0.5).any()) and on_warning:
        on_warning(f"mask {path} has no white (hole) pixel: nothing to fill, the images are "
                   "copied unchanged")
    return hole


def translate_files(pipe, items: list[str | Path], out_dir: str | Path, *,
                    direction: str | None = None, fmt: str | None = None, overwrite: bool = False,
                    skip_bad: bool = False, on_skip: OnSkip | None = None,
                    **options) -> JobReport:
    """Translate image files with a TranslatePipeline, one file per input.

    Each output keeps its input's size, alpha channel (passed through unchanged), bit depth and
    metadata; it is gray when the generator outputs one channel, else RGB. `options` go to
    `pipe.translate` (tile, tile_pad, precision, noise, seed, max_memory)."""
    net = pipe.generator(direction)  # fail on a bad direction before reading any file
    jobs = _planned(items, out_dir, fmt, overwrite, options.get("precision", "auto"),
                    options.get("max_memory"))

    def run(img: LoadedImage) -> Result:
        return pipe.translate(img.rgb, direction=direction, **options), img.alpha

    return run_jobs(jobs, run, skip_bad=skip_bad, on_skip=on_skip,
                    gray=int(net.out_channels) == 1)
