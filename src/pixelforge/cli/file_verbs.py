"""What the image-file verbs (denoise, upscale, inpaint, translate) share: their option help,
the per-file 'skipped' lines, and the summary and exit code of a batch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pixelforge.errors import UserError

FORMAT_HELP = "output format: png (default), jpg, webp, tif, bmp"
SKIP_BAD_HELP = ("process the other files when some inputs are unreadable (each skipped file "
                 "is named on one line; exit 2 at the end). Default: check every input first "
                 "and refuse the batch, writing nothing")
MAX_MEMORY_HELP = ("memory budget of the process, e.g. 1.5G or 800M (default 1.5G); pictures "
                   "that would not fit whole are tiled automatically")
TILE_HELP = ("tile size in input px; default: chosen from --max-memory (the whole picture when "
             "it fits), 0 = whole picture at once")
BAD_FILES_EPILOG = ("Bad inputs: every input is decoded before anything is written; one unreadable "
                    "file refuses the batch with exit 2 and writes nothing. With --skip-bad the "
                    "others are processed, each skipped file is named on stderr, and the command "
                    "exits 2 after a summary. Output files are upright (EXIF orientation applied) "
                    "and keep the input's ICC profile, EXIF (orientation reset, no thumbnail), "
                    "DPI and PNG text.")


# The options every image-file verb takes, declared once (typer reads the Annotated metadata).
ImagesArg = Annotated[list[str], typer.Argument(help="image files, folders or globs")]
OutOpt = Annotated[str, typer.Option("--out", help="output folder")]
FormatOpt = Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="allow replacing input files")]
SkipBadOpt = Annotated[bool, typer.Option("--skip-bad", help=SKIP_BAD_HELP)]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="auto, fp32 or bf16")]
MaxMemoryOpt = Annotated[str | None, typer.Option("--max-memory", envvar="PIXELFORGE_MAX_MEMORY",
                                                  help=MAX_MEMORY_HELP)]
TileOpt = Annotated[int | None, typer.Option("--tile", min=0, help=TILE_HELP)]
TilePadOpt = Annotated[int | None, typer.Option(
    "--tile-pad", min=0, help="context px around tiles (default: what the model needs)")]


def check_options(images, out, fmt, overwrite: bool, precision: str,
                  max_memory: str | None = None) -> None:
    """Refuse a bad precision, memory budget, input or output path before loading any model."""
    from pixelforge.core.precision import check_precision
    from pixelforge.files.plan import plan_jobs
    from pixelforge.pipelines.budget import max_memory_bytes

    check_precision(precision)
    max_memory_bytes(max_memory)
    plan_jobs(images, out, fmt, overwrite=overwrite)


def skipped_line(path: Path, reason: str) -> None:
    """One stderr line per input left out by --skip-bad."""
    print(f"skipped {path}: {reason}", file=sys.stderr)


def finish(report, verb: str, out: str) -> None:
    """Print '<verb> N image(s) into OUT'; when files were skipped, say how many and exit 2."""
    typer.echo(f"{verb} {len(report.written)} image(s) into {out}"
               + (f"; skipped {len(report.skipped)} bad file(s)" if report.skipped else ""))
    if report.skipped:
        raise UserError(f"{len(report.skipped)} of {report.total} input file(s) could not be "
                        "read and were skipped (listed above)")
