"""`pixelforge sample`: a grid PNG, or one PNG per image streamed to a folder, from a generator."""

from __future__ import annotations

from pathlib import Path

import typer

from pixelforge.cli.common import echo, load_generate
from pixelforge.core.formats import PICTURE_SUFFIXES


def register(app: typer.Typer) -> None:
    @app.command(
        "sample",
        help="Generate images. The same --seed gives bit-identical files on the same machine.\n\n"
        "A grid holds at most 1024 images; for more, write one PNG per image (--per-image or an "
        "--out folder ending in /), streamed to disk batch by batch.\n\n"
        "Examples:\n\n  pixelforge sample runs/demo --n 64 --seed 0 --out grid.png\n\n"
        "  pixelforge sample runs/demo/checkpoints/step-0001500 --n 16 --out samples/\n\n"
        "  pixelforge sample runs/demo --n 50000 --per-image --out fid-samples\n\n"
        "  pixelforge sample runs/cond --class 3 --truncation 0.7 --out threes.png",
    )
    def sample_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        n: int = typer.Option(64, "--n", min=1, help="number of images"),
        seed: int = typer.Option(0, "--seed", help="latent seed"),
        out: str = typer.Option("samples.png", "--out", help="grid .png, or a folder (ending in /) for single PNGs"),
        per_image: bool = typer.Option(False, "--per-image", help="one PNG per image in the --out "
                                       "folder (any --n; bounded memory)"),
        nrow: int | None = typer.Option(None, "--nrow", min=1, help="images per grid row"),
        class_: int | None = typer.Option(None, "--class", help="class index for every image "
                                          "(class-conditional models; default: classes cycled)"),
        truncation: float | None = typer.Option(None, "--truncation", help="psi in (0, 1]: lower "
                                                "trades variety for typical, cleaner images"),
        batch_size: int = typer.Option(256, "--batch-size", min=1, help="images per forward pass"),
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.pipelines.generate import check_grid_size, save_grid, stream_images

        target = Path(out)
        folder = per_image or out.endswith(("/", "\\")) or target.is_dir()
        if not folder:
            if target.suffix.lower() not in PICTURE_SUFFIXES:
                raise UserError(f"--out {out}: use an image file name (.png) or a folder ending "
                                "in / (or --per-image)")
            check_grid_size(n)  # before loading anything
        pipe = load_generate(checkpoint)
        opts = dict(labels=class_, truncation=truncation, batch_size=batch_size)
        if folder:
            count = stream_images(pipe.iter_generate(n, seed, **opts), target,
                                  prefix=f"seed{seed}")
            echo(f"wrote {count} images to {target}")
            return
        save_grid(pipe.generate(n, seed, **opts), target, nrow=nrow)
        echo(f"wrote a grid of {n} images to {target}")
