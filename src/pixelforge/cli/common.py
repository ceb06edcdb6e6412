"""Helpers shared by the CLI verbs: loading checkpoints and parsing `--section.key VALUE` overrides.

Imports nothing heavy at the top (no torch, no pydantic): every verb imports this module, and a
verb's --help should cost no more than typer (tests/cli/test_import_cost.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from pixelforge.errors import UserError


def parse_overrides(args: list[str], command: str = "") -> dict[str, Any]:
    """['--train.lr_g', '1e-4', '--model.channels=3'] -> {'train.lr_g': 1e-4, 'model.channels': 3}."""
    from pixelforge.config import parse_override_value

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


def load_generate(path: str | Path):
    """The generate (or autoencode) pipeline of a run or checkpoint folder; UserError (exit 2)
    for a checkpoint that makes no images from noise."""
    from pixelforge.api import load
    from pixelforge.checkpoint import resolve_checkpoint
    from pixelforge.pipelines.generate import GeneratePipeline

    pipe = load(path)
    if not isinstance(pipe, GeneratePipeline):
        what = getattr(pipe, "name", "") or getattr(pipe, "role", "") or type(pipe).__name__
        raise UserError(f"{resolve_checkpoint(path)} holds a {what}, not a generator")
    return pipe


def load_autoencode(path: str | Path):
    """The autoencode pipeline (a VAE-family model) of a run or checkpoint folder; UserError
    (exit 2) for any other checkpoint."""
    from pixelforge.pipelines.autoencode import AutoencodePipeline, require_autoencoder

    pipe = load_generate(path)
    if not isinstance(pipe, AutoencodePipeline):
        require_autoencoder(pipe.generator)  # raises: names the family and the VAE families
        pipe = AutoencodePipeline(pipe.components, index=pipe.index)
    return pipe


def run_dir_of(path: str | Path) -> Path:
    """The run folder a checkpoint belongs to (metrics.jsonl lives there)."""
    from pixelforge.checkpoint import resolve_checkpoint
    from pixelforge.rundir import RunDir

    return RunDir.of_checkpoint(resolve_checkpoint(path))


def echo(msg: str) -> None:
    typer.echo(msg)
