"""`pixelforge upscale`: super-resolve image files x2 or x4, tiled so any size fits in memory."""

from __future__ import annotations

import typer

from pixelforge.cli import file_verbs as fv


def register(app: typer.Typer) -> None:
    @app.command(
        "upscale",
        help="Upscale images x2 or x4; each keeps its mode (L, RGB, RGBA) and bit depth; alpha "
        "is upscaled separately with bicubic. Pictures too big for --max-memory are tiled "
        "automatically (tiles give the same pixels as one pass).\n\n" + fv.BAD_FILES_EPILOG
        + "\n\nExamples:\n\n  pixelforge upscale photo.jpg --scale 4 --out big/\n\n"
        "  pixelforge upscale photo.jpg --model upscale-x4-photo --out big/\n\n"
        "  pixelforge upscale huge.png --scale 4 --max-memory 1G --out big/",
    )
    def upscale_cmd(
        images: fv.ImagesArg,
        out: fv.OutOpt,
        scale: int = typer.Option(4, "--scale", help="2, 3 or 4, the model's scale (x2 and x4 "
                                 "ship; x3 needs --model of an x3 run)"),
        model: str | None = typer.Option(
            None, "--model", help="a shipped model's name (upscale-x2, upscale-x4: faithful, "
            "the default for --scale; upscale-x4-photo: sharp, for viewing real photos) or the "
            "run or checkpoint folder of a trained upscaler"),
        tile: fv.TileOpt = None,
        tile_pad: fv.TilePadOpt = None,
        max_memory: fv.MaxMemoryOpt = None,
        fmt: fv.FormatOpt = None,
        overwrite: fv.OverwriteOpt = False,
        skip_bad: fv.SkipBadOpt = False,
        precision: fv.PrecisionOpt = "auto",
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.files.jobs import upscale_files
        from pixelforge.pipelines.restore import load_restorer

        if scale not in (2, 3, 4):
            raise UserError(f"--scale {scale}: choose 2, 3 or 4")
        fv.check_options(images, out, fmt, overwrite, precision, max_memory)
        pipe = load_restorer("upscale", model, scale=scale)
        report = upscale_files(pipe, images, out, tile=tile, tile_pad=tile_pad,
                               precision=precision, max_memory=max_memory, fmt=fmt,
                               overwrite=overwrite, skip_bad=skip_bad, on_skip=fv.skipped_line)
        fv.finish(report, "upscaled", out)
