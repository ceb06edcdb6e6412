"""`pixelforge denoise`: remove noise (and JPEG/blur artefacts with the blind model) from image files."""

from __future__ import annotations

import typer

from pixelforge.cli import file_verbs as fv
from pixelforge.cli.common import echo


def register(app: typer.Typer) -> None:
    @app.command(
        "denoise",
        help="Denoise images; each keeps its size, mode (L, RGB, RGBA) and bit depth.\n\n"
        "Without --model the shipped blind model is used (Gaussian noise up to sigma 50, JPEG, "
        "mild blur).\n\n" + fv.BAD_FILES_EPILOG + "\n\nExamples:\n\n"
        "  pixelforge denoise photo.jpg --out clean/\n\n"
        "  pixelforge denoise 'shots/*.png' --model runs/dncnn --skip-bad --out clean/",
    )
    def denoise_cmd(
        images: fv.ImagesArg,
        out: fv.OutOpt,
        sigma: float | None = typer.Option(None, "--sigma", min=0, max=255,
                                           help="noise level of the inputs (0-255 scale); "
                                           "checked against a model trained for one sigma"),
        model: str | None = typer.Option(None, "--model", help="run or checkpoint folder of a "
                                         "trained denoiser (default: the shipped model)"),
        tile: fv.TileOpt = None,
        tile_pad: fv.TilePadOpt = None,
        max_memory: fv.MaxMemoryOpt = None,
        fmt: fv.FormatOpt = None,
        overwrite: fv.OverwriteOpt = False,
        skip_bad: fv.SkipBadOpt = False,
        precision: fv.PrecisionOpt = "auto",
    ) -> None:
        from pixelforge.files.jobs import denoise_files
        from pixelforge.pipelines.restore import load_restorer

        fv.check_options(images, out, fmt, overwrite, precision, max_memory)
        pipe = load_restorer("denoise", model)
        trained = (pipe.index.get("train") or {}).get("sigma") if pipe.index else None
        if sigma is not None and trained is not None and abs(float(trained) - sigma) > 5:
            echo(f"warning: this model was trained for sigma {trained}, not {sigma:g}; "
                 "a blind model may do better")
        report = denoise_files(pipe, images, out, tile=tile, tile_pad=tile_pad,
                               precision=precision, max_memory=max_memory, fmt=fmt,
                               overwrite=overwrite, skip_bad=skip_bad, on_skip=fv.skipped_line)
        fv.finish(report, "denoised", out)
