"""`pixelforge train`: train a registered model on a folder, .npz file or data set name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from pixelforge.cli.common import echo, parse_overrides
from pixelforge.errors import CommandInterrupted, UserError

EXAMPLES = """
Examples:

  pixelforge train --data photos/ --out runs/x             # model and recipe picked for the data

  pixelforge train --model dcgan --data cifar10.npz --out runs/c10 --model.channels 3 --model.image_size 32

  pixelforge train --config mnist --out runs/m --train.lr_g 1e-4   # a shipped recipe, by name

  pixelforge train --out runs/demo --resume --steps 3000   # continue exactly where it stopped

  pixelforge train --config restoration/upscale_x4 --init upscale-x4 --data photos/ --out runs/x4
                                                           # fine-tune a shipped model on your photos

Ctrl-C (exit 130) and SIGTERM (exit 143; also SIGUSR1, 138) save a checkpoint at the end of
the current step; --resume continues from it.
"""


def _diff(saved: Any, given: Any, prefix: str) -> list[tuple[str, Any, Any]]:
    """(key, saved, given) for every value the user gave that differs from the saved one."""
    if isinstance(saved, dict) and isinstance(given, dict):
        out = []
        for key in sorted(given, key=str):
            out += _diff(saved.get(key), given[key], f"{prefix}.{key}")
        return out
    if saved is None or given is None:  # unset on either side: resolved from the data
        return []
    return [] if saved == given else [(prefix, saved, given)]


def _param_defaults(model_name: str) -> dict[str, Any]:
    """The constructor defaults of a family's networks: what an unset model.params key means."""
    import inspect

    from pixelforge.models import MODELS

    out: dict[str, Any] = {}
    for cls in MODELS.get(model_name).networks.values():
        for name, p in inspect.signature(cls).parameters.items():
            if p.default is not inspect.Parameter.empty:
                out.setdefault(name, p.default)
    return out


def check_same_architecture(given: dict[str, Any], saved_file: Path) -> None:
    """--resume with a model.* value (from --config or an override) that differs from the run's
    saved config -> one-line error naming it, instead of a size mismatch deep in loading."""
    from pixelforge.config import build_config, load_yaml

    if not saved_file.is_file() or not isinstance(given.get("model"), dict):
        return
    saved = build_config(load_yaml(saved_file), source=str(saved_file)).model.model_dump(mode="json")
    given_params = given["model"].get("params")
    if isinstance(given_params, dict):  # a param the run left at its default: compare with that
        defaults = _param_defaults(saved["name"])
        saved["params"] = {**{k: defaults.get(k) for k in given_params}, **saved["params"]}
    changed = _diff(saved, given["model"], "model")
    if changed:
        key, was, now = changed[0]
        raise UserError(f"--resume: {key} is {was!r} in the saved run ({saved_file}) but {now!r} "
                        "now; a run's architecture cannot change, train into a new --out instead")


def _same_data(saved: Any, given: Any) -> bool:
    """Two data specs name the same data: equal text, or paths to the same file or folder."""
    if saved is None or given is None or saved == given:
        return True
    a, b = Path(str(saved)).expanduser(), Path(str(given)).expanduser()
    return a.exists() and b.exists() and a.resolve() == b.resolve()


def check_same_run(given: dict[str, Any], saved_file: Path) -> None:
    """--resume into a folder that holds another run (its config.yaml names another model,
    architecture or data than the ones given) -> one-line error; --out holds no run -> no-op."""
    from pixelforge.config import load_yaml

    check_same_architecture(given, saved_file)
    if not saved_file.is_file() or not isinstance(given.get("data"), dict):
        return
    saved_data = load_yaml(saved_file).get("data") or {}
    for key in ("path", "path_b"):
        if not _same_data(saved_data.get(key), given["data"].get(key)):
            raise UserError(f"--resume: data.{key} is {saved_data.get(key)!r} in the saved run "
                            f"({saved_file}) but {given['data'][key]!r} now; this folder holds "
                            "another run, train into a new --out instead")


def start_tree(out: Path, config: Path | None, overrides: dict[str, Any], *,
               resume: bool) -> tuple[dict[str, Any], str]:
    """(config tree, its source) a training into `out` starts from, after the run-folder checks:
    --out is a folder; without --resume it holds no checkpoint; with --resume it holds this run
    or none yet. With --resume and no --config, the run's saved config.yaml is the base."""
    from pixelforge.checkpoint import latest_checkpoint
    from pixelforge.config import load_yaml, set_dotted
    from pixelforge.rundir import RunDir

    saved = RunDir(out).config
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a run folder")
    if not resume and latest_checkpoint(out) is not None:
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose "
                        "another --out")
    if resume:  # with or without a checkpoint yet: the folder must hold this run, if any
        given = load_yaml(config) if config else {}
        for key, value in overrides.items():
            set_dotted(given, key, value)
        check_same_run(given, saved)
        if config is None and saved.is_file():
            return load_yaml(saved), str(saved)
    return (load_yaml(config), str(config)) if config else ({}, "defaults")


def register(app: typer.Typer) -> None:
    from pixelforge.configs import listing

    @app.command(
        "train",
        help="Train a generator. Any config field can be overridden with --section.key VALUE."
        + EXAMPLES + "\nShipped recipes (--config NAME, e.g. --config gan/mnist_dcgan_sn):\n\n"
        + listing(),
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def train_cmd(
        ctx: typer.Context,
        out: Path = typer.Option(..., "--out", help="run folder (created; holds checkpoints, samples, logs)"),
        model: str | None = typer.Option(None, "--model", help="registered model name, e.g. dcgan, seed-dcgan (unset: the recommended family for the data)"),
        data: str | None = typer.Option(None, "--data", help="image folder, .npz file, data set name or 'default'"),
        config: Path | None = typer.Option(None, "--config", help="YAML config file, or a "
                                           "shipped recipe's name (listed above)",
                                           metavar="FILE|NAME"),
        steps: int | None = typer.Option(None, "--steps", min=1, help="total training steps (train.steps)"),
        resume: bool = typer.Option(False, "--resume", help="continue from the run folder's latest "
                                    "checkpoint; from step 0 when it has none yet (refused when "
                                    "the folder holds another model or data)"),
        dry_run: bool = typer.Option(False, "--dry-run", help="check model, params and data, "
                                     "print the resolved config and exit"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
        init: str | None = typer.Option(None, "--init", help="start from this run, checkpoint or "
                                        "shipped model's weights (train.init; fine-tuning)"),
    ) -> None:
        from pixelforge.config import build_config, dump_config
        from pixelforge.configs import find
        from pixelforge.rundir import RunDir

        config = find(config) if config else None  # a file, else the shipped recipe so named
        overrides = parse_overrides(list(ctx.args), command=ctx.command_path)
        for key, value in (("model.name", model), ("data.path", data), ("train.steps", steps),
                           ("train.init", init)):
            if value is not None:
                overrides[key] = value
        tree, source = start_tree(out, config, overrides, resume=resume)
        cfg = build_config(tree, overrides, source=source)
        from pixelforge.recipes import log_notes
        from pixelforge.training.trainer import prepare_config

        cfg, notes = prepare_config(cfg)  # the trainer's own checks and choices, before start-up
        if dry_run:
            echo("".join(f"# {note}\n" for note in notes) + dump_config(cfg).rstrip())
            return
        log_notes(notes)
        from pixelforge.training import Interrupted, train
        from pixelforge.training.trainer import leave_process_group

        finished = False
        try:
            result = train(cfg, out, resume=resume, progress=not quiet,
                           tune_allocator=(ctx.obj or {}).get("tune_allocator", True))
            finished = True
        except Interrupted as exc:
            finished = True  # every rank stopped at the same step (the flag is all-reduced)
            import signal

            how = "interrupted" if exc.signum == signal.SIGINT else \
                f"stopped by {signal.Signals(exc.signum).name}"
            where = (f"; checkpoint saved: {exc.checkpoint}" if exc.checkpoint and exc.saved else
                     f"; latest checkpoint: {exc.checkpoint}" if exc.checkpoint else
                     "; no checkpoint")
            raise CommandInterrupted(f"{how} at step {exc.step}{where}; continue with: "
                                     f"pixelforge train --out {out} --resume",
                                     exit_code=exc.exit_code) from None
        finally:
            leave_process_group(synchronise=finished)
        if os.environ.get("RANK", "0") != "0":  # under accelerate launch: rank 0 reports
            return
        echo(f"trained {cfg.model.name} to step {result.step} in {result.seconds:.1f} s "
             f"({result.images_per_second:.0f} images/s)")
        echo(f"checkpoint: {result.checkpoint}")
        echo(f"samples:    {RunDir(out).samples}")
        echo(f"logs:       tensorboard --logdir {RunDir(out).tensorboard}")
