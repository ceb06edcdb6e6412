"""`pixelforge upscale`: super-resolve image files x2 or x4, tiled so any size fits in memory."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo
from pixelforge.cli.denoise import FORMAT_HELP


def register(app: typer.Typer) -> None:
    @app.command(
        "upscale",
        help="Upscale images x2 or x4; each keeps its mode (L, RGB, RGBA) and bit depth; alpha "
        "is upscaled separately with bicubic.\n\nExamples:\n\n"
        "  pixelforge upscale photo.jpg --scale 4 --out big/\n\n"
        "  pixelforge upscale huge.png --scale 4 --tile 256 --tile-pad 16 --out big/",
    )
    def upscale_cmd(
        images: list[str] = typer.Argument(..., help="image files, folders or globs"),
        out: str = typer.Option(..., "--out", help="output folder"),
        scale: int = typer.Option(4, "--scale", help="2, 3 or 4, the model's scale (x2 and x4 "
                                 "ship; x3 needs --model of an x3 run)"),
        model: str | None = typer.Option(None, "--model", help="run or checkpoint folder of a "
                                         "trained upscaler (default: the shipped model)"),
        tile: int = typer.Option(256, "--tile", min=0, help="tile size in input px "
                                 "(0 = whole image at once)"),
        tile_pad: int = typer.Option(16, "--tile-pad", min=0, help="context px around tiles"),
        fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
        overwrite: bool = typer.Option(False, "--overwrite", help="allow replacing input files"),
        precision: str = typer.Option("auto", "--precision", help="auto, fp32 or bf16"),
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.pipelines.restore import load_restorer
        from pixelforge.pipelines.restore_io import plan_jobs, run_jobs

        if scale not in (2, 3, 4):
            raise UserError(f"--scale {scale}: choose 2, 3 or 4")
        jobs = plan_jobs(images, out, fmt, overwrite=overwrite)
        pipe = load_restorer("upscale", model, scale=scale)

        def run(img):
            rgb = pipe.upscale(img.rgb, tile=tile, tile_pad=tile_pad, precision=precision)
            alpha = pipe.upscale_alpha(img.alpha) if img.alpha is not None else None
            return rgb, alpha

        done = run_jobs(jobs, run)
        echo(f"upscaled {len(done)} image(s) x{scale} into {out}")
