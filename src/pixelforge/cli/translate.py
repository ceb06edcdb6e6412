"""`pixelforge translate`: turn images of one domain into the other (a pix2pix or CycleGAN run)."""

from __future__ import annotations

from typing import Annotated

import typer

from pixelforge.cli import file_verbs as fv


def load_translator(run: str):
    """The TranslatePipeline of a run or checkpoint folder (UserError for other kinds)."""
    from pixelforge.api import load
    from pixelforge.errors import UserError
    from pixelforge.pipelines.translate import TranslatePipeline

    pipe = load(run)
    if not isinstance(pipe, TranslatePipeline):
        what = getattr(pipe, "name", None) or getattr(pipe, "role", None) or type(pipe).__name__
        raise UserError(f"{run} holds a {what!r} model, not an image translation model "
                        "(pix2pix or cyclegan)")
    return pipe


def register(app: typer.Typer) -> None:
    @app.command(
        "translate",
        help="Translate images with a trained pix2pix or CycleGAN run; any size and aspect ratio "
        "(padded by reflection to the network's stride, cropped back). Each output keeps its "
        "input's size, alpha channel (passed through) and bit depth (16-bit PNG/TIFF stay "
        "16-bit); gray inputs are repeated to RGB for colour models, colour inputs go to luma "
        "for gray-input models (colourisation).\n\n" + fv.BAD_FILES_EPILOG + "\n\n"
        "Examples:\n\n  pixelforge translate runs/facades labels/*.png --out photos/\n\n"
        "  pixelforge translate runs/cyclegan photo.jpg --direction b2a --out back/\n\n"
        "  pixelforge translate runs/colorize old.tif --tile 512 --out colour/",
    )
    def translate_cmd(
        run: Annotated[str, typer.Argument(help="run folder or checkpoint folder")],
        images: fv.ImagesArg,
        out: fv.OutOpt,
        direction: str | None = typer.Option(
            None, "--direction", help="a2b or b2a (CycleGAN runs translate both ways; default: "
            "the only direction the run has)"),
        tile: int | None = typer.Option(None, "--tile", min=0, help="tile size in px; default: "
                                        "the whole image unless it does not fit --max-memory "
                                        "(then tiles, with a warning: tiles approximate the "
                                        "whole-image result); 0 = always whole"),
        max_memory: fv.MaxMemoryOpt = None,
        tile_pad: fv.TilePadOpt = 32,
        noise: bool = typer.Option(False, "--noise", help="keep dropout on (pix2pix's noise): "
                                   "varied outputs, fixed by --seed"),
        seed: int = typer.Option(0, "--seed", help="seed of the dropout noise (with --noise)"),
        fmt: fv.FormatOpt = None,
        overwrite: fv.OverwriteOpt = False,
        skip_bad: fv.SkipBadOpt = False,
        precision: fv.PrecisionOpt = "auto",
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.files.jobs import translate_files
        from pixelforge.pipelines.translate import DIRECTIONS

        if direction is not None and direction not in DIRECTIONS:
            raise UserError(f"--direction {direction!r}: choose a2b or b2a")
        fv.check_options(images, out, fmt, overwrite, precision, max_memory)
        pipe = load_translator(run)
        report = translate_files(pipe, images, out, direction=direction, fmt=fmt,
                                 overwrite=overwrite, skip_bad=skip_bad, on_skip=fv.skipped_line,
                                 tile=tile, tile_pad=tile_pad, noise=noise, seed=seed,
                                 precision=precision, max_memory=max_memory)
        fv.finish(report, "translated", out)
