"""`pixelforge decode`: VAE codes from an .npz -> images (a grid PNG or one PNG per code)."""

from __future__ import annotations

from pathlib import Path

import typer

from pixelforge.cli.common import echo, load_autoencode
from pixelforge.core.formats import PICTURE_SUFFIXES


def register(app: typer.Typer) -> None:
    @app.command(
        "decode",
        help="Decode latent codes (an .npz from `pixelforge encode`, or any .npz holding a "
        "[N, latent_dim] array) into images.\n\n"
        "Example:\n\n  pixelforge decode runs/vae codes.npz --out decoded.png",
    )
    def decode_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        codes: str = typer.Argument(..., help=".npz file with the codes"),
        key: str = typer.Option("z", "--key", help="array in the .npz to decode (z, mu, ...)"),
        out: str = typer.Option("decoded.png", "--out", help="grid .png, or a folder ending in /"),
        nrow: int | None = typer.Option(None, "--nrow", min=1, help="images per grid row"),
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.pipelines import save_grid, save_images
        from pixelforge.pipelines.autoencode import load_codes

        model = load_autoencode(checkpoint)
        z, labels = load_codes(codes, key)
        images = model.decode(z, labels)
        target = Path(out)
        if out.endswith(("/", "\\")) or target.is_dir():
            paths = save_images(images, target, prefix="decoded")
            echo(f"wrote {len(paths)} images to {target}")
            return
        if target.suffix.lower() not in PICTURE_SUFFIXES:
            raise UserError(f"--out {out}: use an image file name (.png) or a folder ending in /")
        save_grid(images, target, nrow=nrow)
        echo(f"decoded {len(images)} codes into {target}")
