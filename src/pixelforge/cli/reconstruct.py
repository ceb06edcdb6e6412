"""`pixelforge reconstruct`: originals next to their VAE reconstructions, with MSE/PSNR/SSIM."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo, load_autoencode


def register(app: typer.Typer) -> None:
    @app.command(
        "reconstruct",
        help="Encode and decode real images (posterior mean) and save a grid: each row of "
        "originals is followed by a row of reconstructions. Prints MSE, PSNR and SSIM.\n\n"
        "Example:\n\n  pixelforge reconstruct runs/vae --data mnist.npz --n 32 --out recon.png",
    )
    def reconstruct_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        data: str = typer.Option("default", "--data", help="images: folder, .npz, data set name"),
        split: str = typer.Option("test", "--split", help="train or test"),
        n: int = typer.Option(32, "--n", min=1, help="images to reconstruct"),
        nrow: int = typer.Option(8, "--nrow", min=1, help="images per grid row"),
        out: str = typer.Option("reconstructions.png", "--out", help="grid .png"),
    ) -> None:
        import torch

        from pixelforge.data import load_images
        from pixelforge.metrics.reconstruction import reconstruction_scores
        from pixelforge.pipelines import save_grid
        from pixelforge.pipelines.autoencode import dataset_arrays

        model = load_autoencode(checkpoint)
        ds = load_images(data, image_size=model.image_size, channels=model.channels, split=split,
                         limit=n)
        images, labels = dataset_arrays(ds, n)
        rec = model.reconstruct(images, labels)
        blank = -torch.ones(nrow, *images.shape[1:])  # black tiles fill a short last row
        rows = []
        for i in range(0, len(images), nrow):
            for part in (images[i:i + nrow], rec[i:i + nrow]):  # originals, then reconstructions
                rows += [part, blank[:nrow - len(part)]]
        path = save_grid(torch.cat(rows), out, nrow=nrow)
        s = reconstruction_scores(images, rec)
        echo(f"reconstructed {len(images)} images of {ds.description}: MSE {s['mse']:.4g}, "
             f"PSNR {s['psnr']:.2f} dB, SSIM {s['ssim']:.3f}; grid: {path}")
