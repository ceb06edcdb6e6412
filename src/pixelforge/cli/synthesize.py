"""`pixelforge synthesize`: a synthetic data set from a generator (.npz of uint8 NHWC images,
labels for conditional models and the run's ε in its metadata, or a folder of PNGs)."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo, load_generate


def register(app: typer.Typer) -> None:
    @app.command(
        "synthesize",
        help="Write a synthetic copy of the training data: N generated images as an .npz (x: "
        "uint8 [N, H, W, C], y: labels of class-conditional models, balanced; meta: JSON with "
        "the run's privacy record), or one PNG per image in a folder (--out DIR/). Free disk "
        "space is checked first.\n\nExamples:\n\n"
        "  pixelforge synthesize runs/dp-mnist --n 60000 --out synth.npz\n\n"
        "  pixelforge synthesize runs/dp-mnist --n 1000 --out synth/",
    )
    def synthesize_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        n: int = typer.Option(60000, "--n", help="number of images"),
        out: str = typer.Option(..., "--out", help="an .npz file, or a folder (ending in /)"),
        seed: int = typer.Option(0, "--seed", help="latent seed"),
        batch_size: int = typer.Option(256, "--batch-size", min=1, help="images per forward pass"),
    ) -> None:
        from pixelforge.checkpoint import describe_privacy, resolve_checkpoint
        from pixelforge.errors import UserError
        from pixelforge.pipelines.synthesize import synthesize

        if n < 1:  # before loading anything
            raise UserError(f"--n {n}: synthesize needs at least one image")
        pipe = load_generate(checkpoint)
        meta = synthesize(pipe, resolve_checkpoint(checkpoint), n, out, seed=seed,
                          batch_size=batch_size)
        labels = f", labels for {meta['num_classes']} classes" if meta["num_classes"] else ""
        echo(f"wrote {n} images{labels} to {out} ({describe_privacy(meta['privacy'])})")
