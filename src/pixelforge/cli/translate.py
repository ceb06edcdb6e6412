"""`pixelforge translate`: turn images of one domain into the other (a pix2pix or CycleGAN run)."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo

FORMAT_HELP = "output format: png (default), jpg, webp, tif, bmp"


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
        "for gray-input models (colourisation).\n\n"
        "Examples:\n\n  pixelforge translate runs/facades labels/*.png --out photos/\n\n"
        "  pixelforge translate runs/cyclegan photo.jpg --direction b2a --out back/\n\n"
        "  pixelforge translate runs/colorize old.tif --tile 512 --out colour/",
    )
    def translate_cmd(
        run: str = typer.Argument(..., help="run folder or checkpoint folder"),
        images: list[str] = typer.Argument(..., help="image files, folders or globs"),
        out: str = typer.Option(..., "--out", help="output folder"),
        direction: str | None = typer.Option(
            None, "--direction", help="a2b or b2a (CycleGAN runs translate both ways; default: "
            "the only direction the run has)"),
        tile: int = typer.Option(0, "--tile", min=0, help="tile size in px for large images "
                                 "(0 = whole image; tiles approximate the whole-image result)"),
        tile_pad: int = typer.Option(32, "--tile-pad", min=0, help="context px around tiles"),
        noise: bool = typer.Option(False, "--noise", help="keep dropout on (pix2pix's noise): "
                                   "varied outputs, fixed by --seed"),
        seed: int = typer.Option(0, "--seed", help="seed of the dropout noise (with --noise)"),
        fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
        overwrite: bool = typer.Option(False, "--overwrite", help="allow replacing input files"),
        precision: str = typer.Option("auto", "--precision", help="auto, fp32 or bf16"),
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.pipelines.translate import DIRECTIONS, translate_files

        if direction is not None and direction not in DIRECTIONS:
            raise UserError(f"--direction {direction!r}: choose a2b or b2a")
        if precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"--precision {precision!r}: choose auto, fp32 or bf16")
        pipe = load_translator(run)
        done = translate_files(pipe, images, out, direction=direction, fmt=fmt,
                               overwrite=overwrite, tile=tile, tile_pad=tile_pad, noise=noise,
                               seed=seed, precision=precision)
        echo(f"translated {len(done)} image(s) into {out}")
