"""Plan a file job: inputs (files, folders, globs) -> (input, output) pairs, every path checked
before any work, so a refusal leaves nothing behind."""

from __future__ import annotations

import glob
from pathlib import Path

from pixelforge.core.formats import IMAGE_SUFFIXES, is_image_file
from pixelforge.errors import UserError

OUT_FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp", "tif": ".tif",
               "tiff": ".tif", "bmp": ".bmp"}


def collect_inputs(items: list[str | Path]) -> list[Path]:
    """Files, folders (their image files, sorted) and glob patterns -> a de-duplicated file list."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_file():
            found = [p]
        elif p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and is_image_file(f))
            if not found:
                raise UserError(f"{item}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        else:
            found = sorted(Path(f) for f in glob.glob(str(item), recursive=True) if Path(f).is_file())
            if not found:
                raise UserError(f"{item}: no such file or folder, and no file matches it as a glob")
        out += [f for f in found if f not in out]
    return out


def output_suffix(fmt: str | None) -> str:
    """'jpeg' -> '.jpg'; None -> '.png'."""
    suffix = OUT_FORMATS.get((fmt or "png").lower().lstrip("."))
    if suffix is None:
        raise UserError(f"fmt={fmt!r}: choose one of {', '.join(sorted(OUT_FORMATS))}",
                        field="fmt")
    return suffix


def output_path(src: Path, out_dir: Path, fmt: str | None, tag: str = "") -> Path:
    """out_dir/<stem><tag>.<fmt or png>."""
    return out_dir / f"{src.stem}{tag}{output_suffix(fmt)}"


def plan_outputs(inputs: list[Path], out_dir: str | Path, fmt: str | None, *, tag: str = "",
                 overwrite: bool = False) -> list[Path]:
    """Output path per input; refuses two inputs writing one file, an output name that is a
    folder, and (unless asked) overwriting an input."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"out_dir={str(out_dir)!r}: exists and is not a folder", field="out_dir")
    outs = [output_path(p, out_dir, fmt, tag) for p in inputs]
    seen: dict[Path, Path] = {}
    resolved_inputs = {p.resolve() for p in inputs}
    for src, dst in zip(inputs, outs, strict=True):
        key = dst.resolve()
        if key in seen:
            raise UserError(f"{seen[key]} and {src} would both be written to {dst}; "
                            "process them into different out_dir= folders", field="out_dir")
        seen[key] = src
        if dst.is_dir():
            raise UserError(f"{dst}: the output for {src} is an existing folder; move it away or "
                            "choose another out_dir=", field="out_dir")
        if key in resolved_inputs and not overwrite:
            raise UserError(f"{dst} is an input; refusing to overwrite it (pass overwrite=True)",
                            field="overwrite")
    return outs


def plan_jobs(items: list[str | Path], out_dir: str | Path, fmt: str | None = None, *,
              overwrite: bool = False, tag: str = "") -> list[tuple[Path, Path]]:
    """(input, output) pairs, every path checked before any work (so a refusal leaves nothing)."""
    inputs = collect_inputs(items)
    return list(zip(inputs, plan_outputs(inputs, out_dir, fmt, tag=tag, overwrite=overwrite),
                    strict=True))
