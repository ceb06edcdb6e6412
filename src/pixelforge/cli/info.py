"""`pixelforge info`: what a run or checkpoint holds: model, config, step and scores."""

from __future__ import annotations

import json

import typer

from pixelforge.checkpoint import read_json, resolve_checkpoint
from pixelforge.cli.common import echo, run_dir_of


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
        cfg = read_json(ckpt / "config.json")
        meta_file = ckpt / "meta.json"
        meta = read_json(meta_file) if meta_file.is_file() else {}
        metrics_file = run_dir_of(checkpoint) / "metrics.jsonl"
        metrics = []
        if metrics_file.is_file():
            metrics = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
        pf = cfg.get("_pixelforge", {})
        summary = {
            "checkpoint": str(ckpt),
            "model": pf.get("model"),
            "role": pf.get("role"),
            "pixelforge_version": pf.get("version"),
            "network": {k: v for k, v in cfg.items() if k != "_pixelforge"},
            "step": meta.get("step"),
            "images_seen": meta.get("images_seen"),
            "train_seconds": meta.get("train_seconds"),
            "precision": meta.get("precision"),
            "data": meta.get("data"),
            "config": meta.get("config"),
            "metrics": metrics[-10:],
        }
        if as_json:
            echo(json.dumps(summary, indent=2))
            return
        echo(f"checkpoint: {summary['checkpoint']}")
        echo(f"model:      {summary['model']} ({summary['role']}), pixelforge {summary['pixelforge_version']}")
        echo(f"network:    {json.dumps(summary['network'])}")
        if meta:
            echo(f"step:       {meta.get('step')} ({meta.get('images_seen')} images, "
                 f"{meta.get('train_seconds')} s, {meta.get('precision')})")
            echo(f"data:       {meta.get('data')}")
            t = (meta.get("config") or {}).get("train", {})
            echo(f"train:      batch {t.get('batch_size')}, lr_g {t.get('lr_g')}, lr_d {t.get('lr_d')}, "
                 f"loss {t.get('loss')}, ema {t.get('ema_decay')}, seed {t.get('seed')}")
        if metrics:
            echo("metrics (latest first):")
            for m in reversed(metrics[-10:]):
                echo(f"  {m.get('metric')}: {m.get('value')}  [step {m.get('step')}, "
                     f"{m.get('n_generated')} gen vs {m.get('n_real')} real, {m.get('extractor')}]")
        else:
            echo("metrics:    none yet (run `pixelforge eval`)")
