"""The verbs of `pixelforge`, one table row each, imported only when used (diffusers-style laziness).

`pixelforge --help` lists the verbs from this table without importing any verb module (so
without torch); `pixelforge VERB ...` imports that one module, builds its typer command from its
`register(app)` and runs it. A new verb is a module with `register(app)` plus one row here.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


class Verb(NamedTuple):
    name: str
    module: str  # defines register(app: typer.Typer), which adds the command `name`
    summary: str  # the one line `pixelforge --help` shows


VERBS: tuple[Verb, ...] = (
    Verb("train", "pixelforge.cli.train", "Train a model from flags, a YAML file or a shipped "
         "recipe."),
    Verb("sample", "pixelforge.cli.sample", "Generate images (a grid or one file per image)."),
    Verb("interpolate", "pixelforge.cli.interpolate", "Walk the latent space from one seed (or "
         "image) to another."),
    Verb("eval", "pixelforge.cli.evaluate", "Score a model against real data; appends to "
         "metrics.jsonl."),
    Verb("info", "pixelforge.cli.info", "Describe a run or checkpoint."),
    Verb("pack", "pixelforge.cli.pack", "Write images as tar shards with a manifest, to train "
         "from."),
    Verb("encode", "pixelforge.cli.encode", "Encode images into latent codes with a VAE."),
    Verb("decode", "pixelforge.cli.decode", "Decode latent codes into images with a VAE."),
    Verb("reconstruct", "pixelforge.cli.reconstruct", "Encode and decode real images with a "
         "VAE; grid and scores."),
    Verb("export", "pixelforge.cli.export", "Export a generator or image-to-image model to ONNX."),
    Verb("studio", "pixelforge.cli.studio", "Start the local web studio."),
    Verb("denoise", "pixelforge.cli.denoise", "Denoise images (shipped model or your run)."),
    Verb("upscale", "pixelforge.cli.upscale", "Upscale images x2 or x4 (shipped models or your "
         "run)."),
    Verb("inpaint", "pixelforge.cli.inpaint", "Fill holes in images given a mask."),
    Verb("translate", "pixelforge.cli.translate", "Translate images with a pix2pix or CycleGAN "
         "run."),
    Verb("colorize", "pixelforge.cli.colorize", "Colourise gray photos, keeping their luma "
         "exactly."),
    Verb("audit", "pixelforge.cli.audit", "Privacy audit: near-copies, data copying, "
         "membership inference."),
    Verb("synthesize", "pixelforge.cli.synthesize", "Write a synthetic data set (.npz or PNGs) "
         "carrying the run's ε."),
)
BY_NAME = {v.name: v for v in VERBS}


def build_verb(verb: Verb) -> Any:
    """Import the verb's module and build its click command (typer's, with full --help)."""
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    importlib.import_module(verb.module).register(sub)
    for info in sub.registered_commands:
        command = typer.main.get_command_from_info(
            info, pretty_exceptions_short=True, rich_markup_mode=sub.rich_markup_mode)
        if command.name == verb.name:
            command.short_help = verb.summary
            return command
    raise RuntimeError(f"{verb.module}.register adds no command named {verb.name!r}")


class LazyVerbs(TyperGroup):
    """A typer group whose commands come from VERBS, each module imported on first use.

    Listing (the group's --help) shows the table's summaries; resolving a verb to run it or to
    show its --help imports it. `before_verb()` runs once the verb's arguments parsed, right
    before its body: the place for process set-up (threads) a --help never needs."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [v.name for v in VERBS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        verb = BY_NAME.get(cmd_name)
        if verb is None:
            return None
        if self._listing:  # the group's help: name and summary only, nothing imported
            return self.commands.get(cmd_name) or TyperCommand(
                name=verb.name, help=verb.summary, short_help=verb.summary)
        if cmd_name not in self.commands:
            command = build_verb(verb)
            command.callback = self._with_set_up(command.callback)
            self.commands[cmd_name] = command
        return self.commands[cmd_name]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """typer's resolution; its 'Did you mean ...?' drawn from the table, not the loaded."""
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:
            message = getattr(exc, "message", None)
            if isinstance(message, str) and args and "Did you mean" not in message:
                close = difflib.get_close_matches(args[0], self.list_commands(ctx))
                if close:
                    exc.message = (f"{message.rstrip('.')}. Did you mean "
                                   f"{', '.join(repr(c) for c in close)}?")
            raise

    def before_verb(self) -> None:
        """Process set-up run right before a verb's body, never for a --help (none here)."""

    def _with_set_up(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(callback)
        def run(*args: Any, **kwargs: Any) -> Any:
            self.before_verb()
            return callback(*args, **kwargs)

        return run

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
