"""`pixelforge colorize`: colourise black-and-white photos and gray scans, keeping their luma."""

from __future__ import annotations

import typer

from pixelforge.cli import file_verbs as fv


def register(app: typer.Typer) -> None:
    @app.command(
        "colorize",
        help="Colourise old black-and-white photos and gray scans of any size with a chroma-only "
        "colouriser: the network predicts colour (BT.601 Cb, Cr) only and each output keeps its "
        "input's luma exactly (Y = 0.299 R + 0.587 G + 0.114 B of the output, rounded, is the "
        "input's gray level; chroma is reduced per pixel where it would leave the gamut). 8-bit "
        "inputs give 8-bit RGB; 16-bit gray PNG/TIFF give 16-bit RGB with the 16-bit luma kept. "
        "RGB inputs are converted to their BT.601 luma first (a colour picture is named on "
        "stderr: its colours are replaced). Exactness holds for png, tif and bmp outputs (jpg "
        "and webp are lossy).\n\nWithout --model the shipped colouriser is used, once one "
        "ships.\n\n" + fv.BAD_FILES_EPILOG + "\n\nExamples:\n\n"
        "  pixelforge colorize old/*.tif --out colour/\n\n"
        "  pixelforge colorize scans/ --model runs/colorize --skip-bad --out colour/",
    )
    def colorize_cmd(
        images: fv.ImagesArg,
        out: fv.OutOpt,
        model: str | None = typer.Option(None, "--model", help="run or checkpoint folder of a "
                                         "trained colouriser (kind colorize; default: the "
                                         "shipped one)"),
        tile: fv.TileOpt = None,
        tile_pad: fv.TilePadOpt = 32,
        max_memory: fv.MaxMemoryOpt = None,
        fmt: fv.FormatOpt = None,
        overwrite: fv.OverwriteOpt = False,
        skip_bad: fv.SkipBadOpt = False,
        precision: fv.PrecisionOpt = "auto",
        chroma_gain: float | None = typer.Option(
            None, "--chroma-gain", min=0, max=4, help="multiply the predicted colour by this "
            "(0 = gray, above 1 = more saturated; default: the gain fitted for the model)"),
    ) -> None:
        import sys

        from pixelforge.files.colorize import colorize_files
        from pixelforge.pipelines.colorize import load_colorizer

        fv.check_options(images, out, fmt, overwrite, precision, max_memory)
        pipe = load_colorizer(model)
        report = colorize_files(pipe, images, out, fmt=fmt, overwrite=overwrite,
                                skip_bad=skip_bad, on_skip=fv.skipped_line,
                                on_note=lambda m: print(f"note: {m}", file=sys.stderr),
                                tile=tile, tile_pad=tile_pad, precision=precision,
                                max_memory=max_memory, gain=chroma_gain)
        fv.finish(report, "colorized", out)
