"""Entry point: registers the verbs and maps errors to exit codes (0 ok, 2 bad input, 1 other)."""

from __future__ import annotations

import logging
import sys

import typer

from pixelforge.cli import (
    decode,
    encode,
    evaluate,
    export,
    info,
    interpolate,
    reconstruct,
    sample,
    train,
)
from pixelforge.errors import TrainingDiverged, UserError

app = typer.Typer(
    name="pixelforge",
    help="Train, sample, evaluate and share neural image generators.\n\n"
         "Quick start: pixelforge train --out runs/demo --steps 500 && "
         "pixelforge sample runs/demo --out grid.png",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (train, sample, interpolate, evaluate, info, encode, decode, reconstruct, export):
    module.register(app)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("PIL").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of raising for UserError/TrainingDiverged."""
    try:
        app(args=argv, standalone_mode=False)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors are handled below; anything else is a bug
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return 2
        if isinstance(exc, click.exceptions.Abort):
            return 130
        raise
    return 0


def _console() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _console()
