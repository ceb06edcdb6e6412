"""`pixelforge denoise`: remove noise (and JPEG/blur artefacts with the blind model) from image files."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo

FORMAT_HELP = "output format: png (default), jpg, webp, tif, bmp"


def register(app: typer.Typer) -> None:
    @app.command(
        "denoise",
        help="Denoise images; each keeps its size, mode (L, RGB, RGBA) and bit depth.\n\n"
        "Without --model the shipped blind model is used (Gaussian noise up to sigma 50, JPEG, "
        "mild blur).\n\nExamples:\n\n  pixelforge denoise photo.jpg --out clean/\n\n"
        "  pixelforge denoise 'shots/*.png' --model runs/dncnn --tile 256 --out clean/",
    )
    def denoise_cmd(
        images: list[str] = typer.Argument(..., help="image files, folders or globs"),
        out: str = typer.Option(..., "--out", help="output folder"),
        sigma: float | None = typer.Option(None, "--sigma", min=0, max=255,
                                           help="noise level of the inputs (0-255 scale); "
                                           "checked against a model trained for one sigma"),
        model: str | None = typer.Option(None, "--model", help="run or checkpoint folder of a "
                                         "trained denoiser (default: the shipped model)"),
        tile: int = typer.Option(0, "--tile", min=0, help="tile size in px (0 = whole image)"),
        tile_pad: int = typer.Option(16, "--tile-pad", min=0, help="context px around tiles"),
        fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
        overwrite: bool = typer.Option(False, "--overwrite", help="allow replacing input files"),
        precision: str = typer.Option("auto", "--precision", help="auto, fp32 or bf16"),
    ) -> None:
        from pixelforge.pipelines.restore import load_restorer
        from pixelforge.pipelines.restore_io import plan_jobs, run_jobs

        jobs = plan_jobs(images, out, fmt, overwrite=overwrite)
        pipe = load_restorer("denoise", model)
        trained = (pipe.index.get("train") or {}).get("sigma") if pipe.index else None
        if sigma is not None and trained is not None and abs(float(trained) - sigma) > 5:
            echo(f"warning: this model was trained for sigma {trained}, not {sigma:g}; "
                 "a blind model may do better")

        def run(img):
            return pipe.denoise(img.rgb, tile=tile, tile_pad=tile_pad, precision=precision), img.alpha

        done = run_jobs(jobs, run)
        echo(f"denoised {len(done)} image(s) into {out}")
