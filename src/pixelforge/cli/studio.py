"""`pixelforge studio`: the local web app over a runs folder (docs/studio.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from pixelforge.cli.common import echo
from pixelforge.errors import UserError


def register(app: typer.Typer) -> None:
    @app.command(
        "studio",
        help="Start the local web studio: gallery, generate, interpolate, restore, train, "
             "monitor. Binds 127.0.0.1 unless --host says otherwise.\n\n"
             "Example: pixelforge studio --runs ./runs",
    )
    def studio_cmd(
        runs: Path = typer.Option(Path("runs"), "--runs", help="runs folder (created if missing)"),
        host: str = typer.Option("127.0.0.1", "--host",
                                 help="address to bind; 0.0.0.0 exposes the studio to the network"),
        port: int = typer.Option(7860, "--port", min=1, max=65535, help="port to listen on"),
        data_dir: list[Path] = typer.Option(
            [], "--data-dir", help="extra folder whose image folders / .npz files the Train page "
            "may train on (repeatable; <runs>/data always is)"),
        configs: Path | None = typer.Option(None, "--configs",
                                            help="recipe folder (default: the shipped recipes, as for train --config NAME)"),
        max_image_mb: float = typer.Option(20, "--max-image-mb", min=0.01,
                                           help="largest image upload"),
        max_pixels: int = typer.Option(4096 * 4096, "--max-pixels", min=1,
                                       help="most pixels per uploaded image"),
        max_zip_mb: float = typer.Option(200, "--max-zip-mb", min=0.01,
                                         help="largest zip upload"),
    ) -> None:
        try:
            import gradio  # noqa: F401
        except ImportError:
            raise UserError("pixelforge studio needs gradio 6: pip install 'gradio>=6.31,<7'") \
                from None
        from pixelforge.studio.app import StudioConfig, default_config_dir, launch
        from pixelforge.studio.safety import MB, Limits

        for d in data_dir:
            if not d.is_dir():
                raise UserError(f"--data-dir {d}: not a folder")
        if configs is not None and not configs.is_dir():
            raise UserError(f"--configs {configs}: not a folder")
        limits = Limits(image_bytes=int(max_image_mb * MB), image_pixels=max_pixels,
                        zip_bytes=int(max_zip_mb * MB))
        cfg = StudioConfig(runs=runs, data_dirs=list(data_dir),
                           config_dir=configs or default_config_dir(), limits=limits)
        if host not in ("127.0.0.1", "localhost", "::1"):
            echo(f"warning: binding {host}: anyone who can reach this address can use the studio")
        echo(f"pixelforge studio on http://{host}:{port} (runs: {runs.resolve()}); Ctrl-C stops")
        launch(cfg, host=host, port=port, block=True, quiet=True)
