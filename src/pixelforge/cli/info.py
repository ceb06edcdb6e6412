"""`pixelforge info`: what a run or checkpoint holds: model, config, step and scores."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from pixelforge.checkpoint import (
    describe_privacy,
    privacy_record,
    read_index,
    read_json,
    resolve_checkpoint,
)
from pixelforge.cli.common import echo, run_dir_of
from pixelforge.rundir import META_FILE, RunDir

log = logging.getLogger("pixelforge.cli")


def read_jsonl(path: Path) -> list[dict]:
    """The JSON records of a .jsonl file; broken lines (a crash mid-write) are skipped, warned."""
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            log.warning("skipped line %d of %s: not JSON (%s)", number, path, exc.msg)
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            log.warning("skipped line %d of %s: not a JSON object", number, path)
    return records


def register(app: typer.Typer) -> None:
    @app.command(
        "info",
        help="Describe a run or checkpoint.\n\nExample:\n\n  pixelforge info runs/demo",
    )
    def info_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        ckpt = resolve_checkpoint(checkpoint)
        index = read_index(ckpt)
        networks = {}
        for name, sub in (index.get("components") or {}).items():
            cfg = read_json(ckpt / sub / "config.json")
            networks[name] = {k: v for k, v in cfg.items() if k != "_pixelforge"}
        main_name = "generator" if "generator" in networks else next(iter(networks), None)
        meta_file = ckpt / META_FILE
        meta = read_json(meta_file) if meta_file.is_file() else {}
        metrics = read_jsonl(RunDir(run_dir_of(checkpoint)).metrics)
        summary = {
            "checkpoint": str(ckpt),
            "model": index.get("model"),
            "kind": index.get("kind"),
            "pipeline": index.get("pipeline"),
            "role": main_name,
            "pixelforge_version": (index.get("_pixelforge") or {}).get("version"),
            "network": networks.get(main_name, {}),
            "components": networks,
            "step": meta.get("step"),
            "images_seen": meta.get("images_seen"),
            "train_seconds": meta.get("train_seconds"),
            "precision": meta.get("precision"),
            "data": meta.get("data"),
            "config": meta.get("config"),
            "privacy": privacy_record(ckpt),  # None: trained without differential privacy
            "metrics": metrics[-10:],
        }
        if as_json:
            echo(json.dumps(summary, indent=2))
            return
        echo(f"checkpoint: {summary['checkpoint']}")
        echo(f"model:      {summary['model']} ({summary['role']}), pixelforge {summary['pixelforge_version']}")
        for name, net in networks.items():
            echo(f"{name + ':':<11} {json.dumps(net)}")
        if meta:
            echo(f"step:       {meta.get('step')} ({meta.get('images_seen')} images, "
                 f"{meta.get('train_seconds')} s, {meta.get('precision')})")
            echo(f"data:       {meta.get('data')}")
            t = (meta.get("config") or {}).get("train", {})
            echo(f"train:      batch {t.get('batch_size')}, lr_g {t.get('lr_g')}, lr_d {t.get('lr_d')}, "
                 f"loss {t.get('loss')}, ema {t.get('ema_decay')}, seed {t.get('seed')}")
        echo(f"privacy:    {describe_privacy(summary['privacy'])}")
        if metrics:
            echo("metrics (latest first):")
            for m in reversed(metrics[-10:]):
                echo(f"  {m.get('metric')}: {m.get('value')}  [step {m.get('step')}, "
                     f"{m.get('n_generated')} gen vs {m.get('n_real')} real, {m.get('extractor')}]")
        else:
            echo("metrics:    none yet (run `pixelforge eval`)")
