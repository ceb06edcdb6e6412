"""`pixelforge eval`: score a checkpoint by its model kind (metrics.kinds registry); every score
is logged with its protocol."""

from __future__ import annotations

import json

import typer

from pixelforge.cli.common import echo, parse_overrides, run_dir_of


def register(app: typer.Typer) -> None:
    @app.command(
        "eval",
        help="Score a generator: Frechet distance and KID in the feature space of a cnn classifier "
        "trained on the real data (offline), next to an untrained generator and real held-out data. "
        "Scores are appended to metrics.jsonl in the run folder. Any eval option can be set with "
        "--eval.key VALUE.\n\n"
        "Examples:\n\n  pixelforge eval runs/demo --data default\n\n"
        "  pixelforge eval runs/c10 --data cifar10.npz --eval.n_generated 10000 --inception",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def eval_cmd(
        ctx: typer.Context,
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        data: str = typer.Option("default", "--data", help="real images: folder, .npz, data set name"),
        split: str | None = typer.Option(None, "--split", help="real split to compare with "
                                         "(default: train for generators, test for restoration "
                                         "and translation models)"),
        n: int | None = typer.Option(None, "--n", help="generated images (eval.n_generated)"),
        inception: bool = typer.Option(False, "--inception", help="also Inception FID/KID/IS (needs the weights)"),
        as_json: bool = typer.Option(False, "--json", help="print the scores as JSON"),
        iwae_k: int = typer.Option(1000, "--iwae-k", min=1, help="VAE models: importance samples "
                                   "of the IWAE bound"),
        vae_n: int = typer.Option(1000, "--vae-n", min=1, help="VAE models: test images for the "
                                  "likelihood bounds and reconstruction scores"),
    ) -> None:
        from pixelforge.api import load
        from pixelforge.checkpoint import read_index, read_json, resolve_checkpoint
        from pixelforge.config import build_config
        from pixelforge.metrics.kinds import EvalRequest, evaluate
        from pixelforge.rundir import META_FILE, RunDir

        overrides = parse_overrides(list(ctx.args))
        bad = [k for k in overrides if not k.startswith("eval.")]
        if bad:
            from pixelforge.errors import UserError

            raise UserError(f"eval takes only --eval.* overrides, not --{bad[0]}")
        if n is not None:
            overrides["eval.n_generated"] = n
        ckpt = resolve_checkpoint(checkpoint)
        meta_file = ckpt / META_FILE
        meta = read_json(meta_file) if meta_file.is_file() else {}
        tree = {"eval": (meta.get("config") or {}).get("eval", {})}
        cfg = build_config(tree, overrides, source=str(meta_file) if meta else "defaults").eval
        filt = ((meta.get("config") or {}).get("data") or {}).get("resize_filter", "bicubic")
        kind = read_index(ckpt)["kind"]
        if split is None:  # image-to-image models are scored on held-out images by default
            split = default_split(kind)
        request = EvalRequest(pipeline=load(ckpt), checkpoint=ckpt, data=data, split=split,
                              cfg=cfg, run_dir=run_dir_of(checkpoint), step=meta.get("step"),
                              inception=inception, resize_filter=filt,
                              options={"iwae_k": iwae_k, "vae_n": vae_n})
        scores = evaluate(kind, request)
        if as_json:
            scores.pop("real_data", None)
            echo(json.dumps(scores, indent=2, default=str))
            return
        echo(f"evaluated {ckpt} against {scores.pop('real_data', data)}")
        for key, value in scores.items():
            if isinstance(value, (int, float, str)) or value is None:
                echo(f"  {key:<28} {value:.4g}" if isinstance(value, float) else f"  {key:<28} {value}")
        echo(f"appended to {RunDir(run_dir_of(checkpoint)).metrics}")


def default_split(kind: str) -> str:
    """The real split a kind is scored against unless --split says otherwise: its declaration's
    (pixelforge.kinds: "test" for image-to-image models), "train" for an undeclared kind."""
    from pixelforge.kinds import KINDS

    return KINDS.get(kind).eval_split if kind in KINDS else "train"
