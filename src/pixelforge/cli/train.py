"""`pixelforge train`: train a registered model on a folder, .npz file or data set name."""

from __future__ import annotations

from pathlib import Path

import typer

from pixelforge.cli.common import echo, parse_overrides
from pixelforge.errors import UserError

EXAMPLES = """
Examples:

  pixelforge train --out runs/demo --steps 1500            # seed-dcgan on the embedded MNIST

  pixelforge train --model dcgan --data cifar10.npz --out runs/c10 --model.channels 3 --model.image_size 32

  pixelforge train --config configs/mnist.yaml --out runs/m --train.lr_g 1e-4

  pixelforge train --out runs/demo --resume --steps 3000   # continue exactly where it stopped
"""


def register(app: typer.Typer) -> None:
    @app.command(
        "train",
        help="Train a generator. Any config field can be overridden with --section.key VALUE."
        + EXAMPLES,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def train_cmd(
        ctx: typer.Context,
        out: Path = typer.Option(..., "--out", help="run folder (created; holds checkpoints, samples, logs)"),
        model: str | None = typer.Option(None, "--model", help="registered model name, e.g. seed-dcgan, dcgan"),
        data: str | None = typer.Option(None, "--data", help="image folder, .npz file, data set name or 'default'"),
        config: Path | None = typer.Option(None, "--config", help="YAML config file"),
        steps: int | None = typer.Option(None, "--steps", help="total training steps (train.steps)"),
        resume: bool = typer.Option(False, "--resume", help="continue from the run folder's latest checkpoint"),
        dry_run: bool = typer.Option(False, "--dry-run", help="print the resolved config and exit"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    ) -> None:
        from pixelforge.config import build_config, dump_config, load_yaml

        overrides = parse_overrides(list(ctx.args))
        for key, value in (("model.name", model), ("data.path", data), ("train.steps", steps)):
            if value is not None:
                overrides[key] = value
        saved = out / "config.yaml"
        if resume and config is None and saved.is_file():
            tree, source = load_yaml(saved), str(saved)
        else:
            tree, source = (load_yaml(config), str(config)) if config else ({}, "defaults")
        if resume and not (out / "checkpoints").is_dir():
            raise UserError(f"--resume: {out} has no checkpoints folder")
        if not resume and (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir()):
            raise UserError(f"{out} already holds a run; pass --resume to continue it or choose "
                            "another --out")
        cfg = build_config(tree, overrides, source=source)
        if dry_run:
            echo(dump_config(cfg).rstrip())
            return
        from pixelforge.training import Interrupted, train

        try:
            result = train(cfg, out, resume=resume, progress=not quiet)
        except Interrupted as exc:
            where = f"; checkpoint: {exc.checkpoint}" if exc.checkpoint else ""
            echo(f"interrupted at step {exc.step}{where}. Continue with: "
                 f"pixelforge train --out {out} --resume")
            raise typer.Exit(130) from None
        echo(f"trained {cfg.model.name} to step {result.step} in {result.seconds:.1f} s "
             f"({result.images_per_second:.0f} images/s)")
        echo(f"checkpoint: {result.checkpoint}")
        echo(f"samples:    {out / 'samples'}")
        echo(f"logs:       tensorboard --logdir {out / 'tensorboard'}")
