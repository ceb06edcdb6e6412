"""`pixelforge interpolate`: a looping latent walk between two seeds, as a GIF (or MP4)."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo, load_autoencode, load_generate


def register(app: typer.Typer) -> None:
    @app.command(
        "interpolate",
        help="Walk the latent space from one seed to another (spherical interpolation).\n\n"
        "Example:\n\n  pixelforge interpolate runs/demo --seed-a 1 --seed-b 2 --frames 48 "
        "--out walk.gif\n\n"
        "  pixelforge interpolate runs/cond --class 7 --truncation 0.7 --out sevens.gif\n\n"
        "  pixelforge interpolate runs/vae --image-a a.png --image-b b.png --out walk.gif",
    )
    def interpolate_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        seed_a: int = typer.Option(1, "--seed-a"),
        seed_b: int = typer.Option(2, "--seed-b"),
        frames: int = typer.Option(48, "--frames", min=2),
        fps: int = typer.Option(12, "--fps", min=1),
        scale: int = typer.Option(2, "--scale", min=1, help="pixel upscaling of each frame"),
        out: str = typer.Option("walk.gif", "--out", help=".gif or .mp4"),
        image_a: str | None = typer.Option(None, "--image-a", help="real image file to start from "
                                           "(VAE-family models: walks between the two codes)"),
        image_b: str | None = typer.Option(None, "--image-b", help="real image file to end at"),
        class_: int | None = typer.Option(None, "--class", help="class of every frame "
                                          "(class-conditional models; default 0)"),
        truncation: float | None = typer.Option(None, "--truncation", help="psi in (0, 1]: lower "
                                                "trades variety for typical, cleaner images"),
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.pipelines import save_animation

        if image_a or image_b:
            if not (image_a and image_b):
                raise UserError("give both --image-a and --image-b")
            if class_ is not None or truncation is not None:
                raise UserError("--class and --truncation apply to seed walks, not to "
                                "--image-a/--image-b walks")
            vae = load_autoencode(checkpoint)
            imgs = vae.interpolate_images(vae.load_image(image_a), vae.load_image(image_b), frames)
            path = save_animation(imgs, out, fps=fps, scale=scale)
            echo(f"wrote a {frames}-frame walk ({image_a} -> {image_b}) to {path}")
            return
        imgs = load_generate(checkpoint).interpolate(seed_a, seed_b, frames, label=class_,
                                                     truncation=truncation)
        path = save_animation(imgs, out, fps=fps, scale=scale)
        echo(f"wrote a {frames}-frame walk (seed {seed_a} -> {seed_b}) to {path}")
