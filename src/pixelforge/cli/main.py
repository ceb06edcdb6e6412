"""Entry point: the verbs (a table in cli/verbs.py, each imported only when used) and the
exit-code contract, in one place.

0 success; 2 bad input (usage errors, UserError, unreadable user paths), one `error:` line on
stderr; 1 anything else (one line, the traceback only with --debug or PIXELFORGE_DEBUG=1);
130 interrupted (Ctrl-C); `train` also 143 after SIGTERM and 138 after SIGUSR1, once its
checkpoint is saved (training/stop.py). Bare `pixelforge` prints the help and exits 0.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import traceback

import typer

from pixelforge.cli.threads import apply_threads
from pixelforge.cli.verbs import LazyVerbs
from pixelforge.errors import CommandInterrupted, TrainingDiverged, UserError

PROG = "pixelforge"
DEBUG_ENV = "PIXELFORGE_DEBUG"


class _Verbs(LazyVerbs):
    """The verbs (cli/verbs.py, imported on use), with the process set-up before each runs."""

    def before_verb(self) -> None:
        _set_up_process()


app = typer.Typer(
    name=PROG,
    cls=_Verbs,
    help="Train, sample, evaluate and share neural image generators.\n\n"
         "Quick start: pixelforge train --out runs/demo --steps 500 && "
         "pixelforge sample runs/demo --out grid.png\n\n"
         "Exit codes: 0 ok, 2 bad input (one 'error:' line), 1 other errors, 130 interrupted "
         "(143 train stopped by SIGTERM).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False, "threads": None, "tune_allocator": True}


def _show_version(value: bool) -> None:
    """--version: print 'pixelforge X.Y.Z' and exit 0 before any verb runs."""
    if value:
        from pixelforge import __version__

        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="print the version and exit"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging"),
    debug: bool = typer.Option(False, "--debug", help=f"show tracebacks of unexpected errors "
                               f"(or set {DEBUG_ENV}=1)"),
    threads: int | None = typer.Option(None, "--threads", min=1, max=1024,
                                       envvar="PIXELFORGE_THREADS",
                                       help="torch intra-op threads (default: one per core this "
                                       "process may use; give each of several jobs its share)"),
    tune_allocator: bool = typer.Option(True, "--tune-allocator/--no-tune-allocator",
                                        envvar="PIXELFORGE_TUNE_ALLOCATOR",
                                        help="keep freed memory in the process (glibc): fewer "
                                        "page faults, +15-40% sampling speed on CPU"),
) -> None:
    _state["debug"] = _state["debug"] or debug
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("PIL").setLevel(logging.WARNING)
    _state.update(threads=threads, tune_allocator=tune_allocator)  # applied once a verb runs
    ctx.obj = {"tune_allocator": tune_allocator}  # handed to the verbs (train passes it on)


def _set_up_process() -> None:
    """Threads and allocator for the verb about to run: after its arguments parsed, so
    `pixelforge VERB --help` (like `pixelforge --help`) never imports torch."""
    apply_threads(_state["threads"])
    if _state["tune_allocator"]:
        from pixelforge.nn.perf import tune_cpu_allocator

        applied = tune_cpu_allocator()
        logging.getLogger("pixelforge").debug("CPU allocator tuning: %s",
                                              "applied" if applied else "not available")


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _error(message: str) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr)


def _given_value(exc: Exception, argv: list[str]) -> str | None:
    """The command-line text the user gave for the option a usage error is about, if any."""
    param = getattr(exc, "param", None)
    names = list(getattr(param, "opts", None) or []) + list(getattr(param, "secondary_opts", []))
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg[len(name) + 1:]
    envvar = getattr(param, "envvar", None)
    return os.environ.get(envvar) if isinstance(envvar, str) else None


def _usage_error(exc: typer.TyperException, argv: list[str]) -> int:
    """Typer's own (bundled click) usage errors -> one line naming option and value + hint."""
    message = exc.format_message()
    value = _given_value(exc, argv)
    if value is not None and repr(value) not in message and value not in message.split():
        message = f"{message.rstrip('.')} (got {value!r})"
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or PROG
    message = message[:1].lower() + message[1:]
    _error(f"{message.rstrip().rstrip('.')} (see '{command} --help')")
    code = getattr(exc, "exit_code", 2)
    return code if isinstance(code, int) and code != 1 else 2


def _unexpected(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    text = str(exc) or "no message"
    hint = "" if debug else f" (rerun with --debug or {DEBUG_ENV}=1 for the traceback)"
    _error(f"unexpected {type(exc).__name__}: {text}{hint}")
    return 1


_USER_OS_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
                   NotADirectoryError)  # a path the user gave cannot be used as given


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises, never prints a traceback unasked)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _state["debug"] = os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")
    if not argv:
        argv = ["--help"]  # bare `pixelforge`: the help on stdout, exit 0
    try:
        rv = app(args=argv, standalone_mode=False, prog_name=PROG)
    except UserError as exc:
        from pixelforge.cli.flags import cli_message

        _error(cli_message(exc))
        return 2
    except TrainingDiverged as exc:
        _error(str(exc))
        return 1
    except CommandInterrupted as exc:
        _error(str(exc))
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        _error("interrupted")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # typer's bundled click usage errors
        return _usage_error(exc, argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except _USER_OS_ERRORS as exc:
        if exc.filename is None:
            return _unexpected(exc, _state["debug"])
        _error(f"{exc.filename}: {(exc.strerror or type(exc).__name__).lower()}")
        return 2
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            _error(f"no space left on device{f': {exc.filename}' if exc.filename else ''}")
            return 1
        return _unexpected(exc, _state["debug"])
    except Exception as exc:  # anything else is a bug or an environment problem
        return _unexpected(exc, _state["debug"])
    if isinstance(rv, int) and not isinstance(rv, bool):
        if rv == 130:  # typer turned a KeyboardInterrupt into Exit(130)
            _error("interrupted")
        return rv
    return 0


def _console() -> None:
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    _console()
