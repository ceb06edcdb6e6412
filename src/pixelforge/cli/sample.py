"""`pixelforge sample`: a grid PNG, or one PNG per image, from a trained generator."""

from __future__ import annotations

from pathlib import Path

import typer

from pixelforge.cli.common import echo, load_generator


def register(app: typer.Typer) -> None:
    @app.command(
        "sample",
        help="Generate images. The same --seed gives bit-identical files on the same machine.\n\n"
        "Examples:\n\n  pixelforge sample runs/demo --n 64 --seed 0 --out grid.png\n\n"
        "  pixelforge sample runs/demo/checkpoints/step-0001500 --n 16 --out samples/\n\n"
        "  pixelforge sample runs/cond --class 3 --truncation 0.7 --out threes.png",
    )
    def sample_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        n: int = typer.Option(64, "--n", min=1, help="number of images"),
        seed: int = typer.Option(0, "--seed", help="latent seed"),
        out: str = typer.Option("samples.png", "--out", help="grid .png, or a folder (ending in /) for single PNGs"),
        nrow: int | None = typer.Option(None, "--nrow", min=1, help="images per grid row"),
        class_: int | None = typer.Option(None, "--class", help="class index for every image "
                                          "(class-conditional models; default: classes cycled)"),
        truncation: float | None = typer.Option(None, "--truncation", help="psi in (0, 1]: lower "
                                                "trades variety for typical, cleaner images"),
    ) -> None:
        from pixelforge.pipelines import save_grid, save_images

        gen = load_generator(checkpoint)
        images = gen.generate(n, seed=seed, labels=class_, truncation=truncation)
        target = Path(out)
        if out.endswith(("/", "\\")) or target.is_dir():
            paths = save_images(images, target, prefix=f"seed{seed}")
            echo(f"wrote {len(paths)} images to {target}")
        else:
            if target.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
                from pixelforge.errors import UserError

                raise UserError(f"--out {out}: use an image file name (.png) or a folder ending in /")
            save_grid(images, target, nrow=nrow)
            echo(f"wrote a grid of {n} images to {target}")
