"""`pixelforge inpaint`: fill the holes of an image given a mask file or a box."""

from __future__ import annotations

import typer

from pixelforge.cli import file_verbs as fv
from pixelforge.cli.common import echo


def parse_box(text: str) -> tuple[int, int, int, int]:
    """'x,y,w,h' -> ints (UserError naming --box otherwise)."""
    from pixelforge.errors import UserError

    parts = text.split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise UserError(f"--box {text}: expected x,y,w,h as four integers") from None
    return x, y, w, h


def register(app: typer.Typer) -> None:
    @app.command(
        "inpaint",
        help="Fill holes in images. The mask is an image of the same size in which WHITE marks "
        "the hole (pixels to fill) and black the pixels to keep; or give a rectangle with "
        "--box x,y,w,h. Large images are inpainted in a crop around the hole and pasted back. "
        "A hole too large for --max-memory is filled at a lower resolution. "
        "An all-white mask is refused (nothing would be left to fill from); an all-black one "
        "copies the images unchanged, with a warning.\n\n" + fv.BAD_FILES_EPILOG + "\n\n"
        "Examples:\n\n  pixelforge inpaint photo.png --mask holes.png --out filled/\n\n"
        "  pixelforge inpaint photo.png --box 120,80,64,48 --out filled/",
    )
    def inpaint_cmd(
        images: fv.ImagesArg,
        out: fv.OutOpt,
        mask: str | None = typer.Option(None, "--mask", help="mask image, same size as the "
                                        "image: white = hole to fill, black = keep"),
        box: str | None = typer.Option(None, "--box", help="hole rectangle x,y,w,h in pixels"),
        model: str | None = typer.Option(None, "--model", help="run or checkpoint folder of a "
                                         "trained inpainter (default: the shipped model)"),
        fmt: fv.FormatOpt = None,
        overwrite: fv.OverwriteOpt = False,
        skip_bad: fv.SkipBadOpt = False,
        precision: fv.PrecisionOpt = "auto",
        max_memory: fv.MaxMemoryOpt = None,
    ) -> None:
        from pixelforge.core.precision import check_precision
        from pixelforge.errors import UserError
        from pixelforge.files.imageio import read_mask
        from pixelforge.files.jobs import check_mask, inpaint_files
        from pixelforge.files.plan import plan_jobs
        from pixelforge.pipelines.budget import parse_memory
        from pixelforge.pipelines.restore import load_restorer

        if (mask is None) == (box is None):
            raise UserError("give exactly one of --mask MASK.png (white = hole) or --box x,y,w,h")
        rect = parse_box(box) if box is not None else None
        check_precision(precision)
        if max_memory is not None:
            parse_memory(max_memory)  # a bad size is refused before any model loads
        plan_jobs(images, out, fmt, overwrite=overwrite)  # refuse bad paths before loading
        if mask is not None:
            check_mask(read_mask(mask), mask, None)
        pipe = load_restorer("inpaint", model)
        report = inpaint_files(pipe, images, out, mask=mask, box=rect, precision=precision,
                               fmt=fmt, overwrite=overwrite, skip_bad=skip_bad,
                               on_skip=fv.skipped_line, on_warning=lambda m: echo(f"warning: {m}"),
                               max_memory=max_memory)
        fv.finish(report, "inpainted", out)
