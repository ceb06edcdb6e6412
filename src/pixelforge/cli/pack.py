"""`pixelforge pack`: write a folder of images or an .npz as WebDataset-style tar shards plus a
manifest (data/pack.py), which `pixelforge train --data SHARDS/` reads like any other data."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command(
        "pack",
        help="Write images as tar shards with labels and a manifest (count, sizes, fingerprint)."
        "\n\nExample:\n\n  pixelforge pack photos/ --out shards/ --shard-size 1000\n\n"
        "  pixelforge train --data shards/ --out runs/x",
    )
    def pack_cmd(
        source: str = typer.Argument(..., help="folder of images (class subfolders = labels) "
                                     "or .npz (optionally file.npz:key)"),
        out: Path = typer.Option(..., "--out", help="new folder for the shards"),
        shard_size: int = typer.Option(1000, "--shard-size", min=1, help="images per shard"),
        size: int | None = typer.Option(None, "--size", min=1, help="centre-crop and resize "
                                        "every image to N x N (needed for mixed sizes)"),
        channels: int | None = typer.Option(None, "--channels", help="1 or 3 (default: as "
                                            "the data looks)"),
        fmt: str = typer.Option("png", "--format", help="png (lossless) or jpg"),
        quality: int = typer.Option(95, "--quality", min=1, max=100, help="JPEG quality"),
    ) -> None:
        from pixelforge.data.pack import pack

        result = pack(source, out, shard_size=shard_size, size=size, channels=channels,
                      encoding=fmt, quality=quality)
        typer.echo(f"packed {result.count} images ({result.size} px, {result.channels} "
                   f"channels) into {result.shards} shards in {result.folder} "
                   f"(fingerprint {result.fingerprint})")
