"""`pixelforge train`: train a registered model on a folder, .npz file or data set name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from pixelforge.cli.common import echo, parse_overrides
from pixelforge.errors import CommandInterrupted, UserError

EXAMPLES = """
Examples:

  pixelforge train --out runs/demo --steps 1500            # seed-dcgan on the embedded MNIST

  pixelforge train --model dcgan --data cifar10.npz --out runs/c10 --model.channels 3 --model.image_size 32

  pixelforge train --config configs/mnist.yaml --out runs/m --train.lr_g 1e-4

  pixelforge train --out runs/demo --resume --steps 3000   # continue exactly where it stopped

  pixelforge train --config configs/restoration/upscale_x4.yaml --init upscale-x4 --data photos/ --out runs/x4
                                                           # fine-tune a shipped model on your photos

Ctrl-C saves a checkpoint and exits with code 130; --resume continues from it.
"""


def check_data_spec(spec: str) -> None:
    """Fail now (not after start-up) when a data spec names no existing path and no data set."""
    from pixelforge.data.spec import ACCEPTED_FORMS, _looks_like_path, split_npz_key
    from pixelforge.data.torchvision_source import canonical_name

    text = spec.strip()
    if not text:
        raise UserError(f"data.path is empty; use {ACCEPTED_FORMS}")
    if text == "default" or (canonical_name(text) is not None and not _looks_like_path(text)):
        return
    path, _ = split_npz_key(text)
    if not path.exists():
        what = "data path not found" if _looks_like_path(text) else "unknown data spec"
        raise UserError(f"data.path {text!r}: {what}; use {ACCEPTED_FORMS}")
    if path.is_file() and path.suffix.lower() != ".npz":
        raise UserError(f"data.path {text!r} is a file but not a .npz archive; use {ACCEPTED_FORMS}")


def check_trainable(cfg) -> None:
    """Everything about the model that train would refuse: name, params, trainable kind."""
    from pixelforge.models import MODELS
    from pixelforge.training.task import TASKS

    family = MODELS.get(cfg.model.name)
    family.check_params(cfg.model.params)
    if family.kind not in TASKS:
        raise UserError(f"model.name {cfg.model.name!r} ({family.kind}) cannot be trained with "
                        f"`pixelforge train`; trainable kinds: {', '.join(TASKS.names())}")


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
        steps: int | None = typer.Option(None, "--steps", min=1, help="total training steps (train.steps)"),
        resume: bool = typer.Option(False, "--resume", help="continue from the run folder's latest checkpoint"),
        dry_run: bool = typer.Option(False, "--dry-run", help="check model, params and data, "
                                     "print the resolved config and exit"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
        init: str | None = typer.Option(None, "--init", help="start from this run, checkpoint or "
                                        "shipped model's weights (train.init; fine-tuning)"),
    ) -> None:
        from pixelforge.config import build_config, dump_config, load_yaml

        overrides = parse_overrides(list(ctx.args), command=ctx.command_path)
        for key, value in (("model.name", model), ("data.path", data), ("train.steps", steps),
                           ("train.init", init)):
            if value is not None:
                overrides[key] = value
        saved = out / "config.yaml"
        if resume and config is None and saved.is_file():
            tree, source = load_yaml(saved), str(saved)
        else:
            tree, source = (load_yaml(config), str(config)) if config else ({}, "defaults")
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {out} is a file, not a run folder")
        if resume and not (out / "checkpoints").is_dir():
            raise UserError(f"--resume: {out} has no checkpoints folder")
        from pixelforge.checkpoint import checkpoint_problem, latest_checkpoint

        if resume and latest_checkpoint(out) is None:  # e.g. killed during the first checkpoint
            raise UserError(f"--resume: {out} has no complete checkpoint yet; train it again "
                            "without --resume")
        complete = [p for p in (out / "checkpoints").glob("step-*")
                    if p.is_dir() and not p.name.endswith(".tmp") and not checkpoint_problem(p)]
        if not resume and complete:  # partial folders of a crashed first save do not count
            raise UserError(f"{out} already holds a run; pass --resume to continue it or choose "
                            "another --out")
        cfg = build_config(tree, overrides, source=source)
        check_trainable(cfg)
        check_data_spec(cfg.data.path)
        from pixelforge.recipes import log_notes, resolve_run_config

        cfg, notes = resolve_run_config(cfg)  # unset channels, size, recipe: from the data
        if resume:
            from pixelforge.config import set_dotted

            given = load_yaml(config) if config else {}
            for key, value in overrides.items():
                set_dotted(given, key, value)
            check_same_architecture(given, saved)
        if dry_run:
            echo("".join(f"# {note}\n" for note in notes) + dump_config(cfg).rstrip())
            return
        log_notes(notes)
        from pixelforge.training import Interrupted, train

        try:
            result = train(cfg, out, resume=resume, progress=not quiet)
        except Interrupted as exc:
            where = f"; checkpoint saved: {exc.checkpoint}" if exc.checkpoint else "; no checkpoint"
            raise CommandInterrupted(f"interrupted at step {exc.step}{where}; continue with: "
                                     f"pixelforge train --out {out} --resume") from None
        echo(f"trained {cfg.model.name} to step {result.step} in {result.seconds:.1f} s "
             f"({result.images_per_second:.0f} images/s)")
        echo(f"checkpoint: {result.checkpoint}")
        echo(f"samples:    {out / 'samples'}")
        echo(f"logs:       tensorboard --logdir {out / 'tensorboard'}")
