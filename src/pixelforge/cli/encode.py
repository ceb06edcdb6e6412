"""`pixelforge encode`: images -> VAE posterior codes (mu, logvar) saved as .npz."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo, load_autoencode


def register(app: typer.Typer) -> None:
    @app.command(
        "encode",
        help="Encode images with a VAE-family model into an .npz of codes: mu, logvar, z (= mu) "
        "and labels, each row one image.\n\n"
        "Example:\n\n  pixelforge encode runs/vae --data mnist.npz --split test --limit 1000 "
        "--out codes.npz",
    )
    def encode_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        data: str = typer.Option("default", "--data", help="images: folder, .npz, data set name"),
        split: str = typer.Option("test", "--split", help="train or test"),
        limit: int | None = typer.Option(None, "--limit", min=1, help="encode only the first N"),
        out: str = typer.Option("codes.npz", "--out", help="output .npz file"),
    ) -> None:
        from pixelforge.data import load_images
        from pixelforge.pipelines.autoencode import dataset_arrays, save_codes

        model = load_autoencode(checkpoint)
        ds = load_images(data, image_size=model.image_size, channels=model.channels, split=split,
                         limit=limit)
        images, labels = dataset_arrays(ds)
        mu, logvar = model.encode(images, labels)
        path = save_codes(out, mu, logvar, labels, model=model.family, data=ds.description)
        echo(f"encoded {len(mu)} images of {ds.description} into {mu.shape[1]}-d codes: {path}")
