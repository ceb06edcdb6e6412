"""Helpers shared by the CLI verbs: loading checkpoints and parsing `--section.key VALUE` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from pixelforge.checkpoint import resolve_checkpoint
from pixelforge.config import parse_override_value
from pixelforge.errors import UserError


def parse_overrides(args: list[str], command: str = "") -> dict[str, Any]:
    """['--train.lr_g', '1e-4', '--model.channels=3'] -> {'train.lr_g': 1e-4, 'model.channels': 3}."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg.split("=", 1)[0]:
            helptext = f"'{command} --help'" if command else "the verb's --help"
            raise UserError(f"unexpected argument {arg!r}; config overrides look like "
                            f"--section.key VALUE (see {helptext} for the options)")
        key = arg[2:]
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        else:
            if i + 1 >= len(args):
                raise UserError(f"override --{key} needs a value")
            value = args[i + 1]
            i += 2
        out[key] = parse_override_value(value)
    return out


def load_generator(path: str | Path):
    """Load the generator of a run folder or checkpoint folder, or fail with exit code 2."""
    from pixelforge.api import load
    from pixelforge.pipelines.generate import GeneratePipeline

    pipe = load(path)
    if not isinstance(pipe, GeneratePipeline):
        what = getattr(pipe, "name", "") or getattr(pipe, "role", "") or type(pipe).__name__
        raise UserError(f"{resolve_checkpoint(path)} holds a {what}, not a generator")
    return pipe.generator


def run_dir_of(path: str | Path) -> Path:
    """The run folder a checkpoint belongs to (metrics.jsonl lives there)."""
    ckpt = resolve_checkpoint(path)
    parent = ckpt.parent
    if parent.name == "checkpoints":
        return parent.parent
    return ckpt


def echo(msg: str) -> None:
    typer.echo(msg)
