"""`pixelforge audit`: what a generator leaks about its training images (memorisation, the
data-copying test C_T, membership inference), against held-out images it never saw."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo, load_generate, run_dir_of


def register(app: typer.Typer) -> None:
    @app.command(
        "audit",
        help="Privacy audit of a generator (GAN, VAE, VAE-GAN): near-copies of training images "
        "(Carlini et al. 2023's rule), the data-copying test C_T (Meehan et al. 2020) and "
        "membership-inference AUC (white-box: D's logit or the ELBO; black-box: distance to "
        "the nearest generated sample). Needs held-out images: the data's test split or "
        "--holdout. Writes audit.json, audit-closest.png and metrics.jsonl lines in the run "
        "folder.\n\nExamples:\n\n  pixelforge audit runs/demo --data mnist.npz\n\n"
        "  pixelforge audit runs/faces --data faces/ --holdout faces-test/ --n 2000",
    )
    def audit_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        data: str = typer.Option(..., "--data", help="the training images: folder, .npz, "
                                 "data set name"),
        holdout: str | None = typer.Option(None, "--holdout", help="held-out images (default: "
                                           "the test split of --data)"),
        n: int = typer.Option(10000, "--n", min=2, help="generated images"),
        n_mia: int = typer.Option(1000, "--n-mia", min=2, help="members and as many "
                                  "non-members for the membership-inference attacks"),
        seed: int = typer.Option(0, "--seed", help="seed of sampling, subsets and bootstrap"),
        as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    ) -> None:
        import json

        from pixelforge.checkpoint import describe_privacy, read_json, resolve_checkpoint
        from pixelforge.metrics.audit import audit_checkpoint
        from pixelforge.rundir import META_FILE, RunDir

        ckpt = resolve_checkpoint(checkpoint)
        meta = read_json(ckpt / META_FILE) if (ckpt / META_FILE).is_file() else {}
        cfg = meta.get("config") or {}
        pipe = load_generate(checkpoint)
        report = audit_checkpoint(
            pipe, ckpt, run_dir_of(checkpoint), data_spec=data, holdout_spec=holdout, n=n,
            seed=seed, n_mia=n_mia, step=meta.get("step"),
            extractor_epochs=int((cfg.get("eval") or {}).get("extractor_epochs", 2)),
            resize_filter=(cfg.get("data") or {}).get("resize_filter", "bicubic"),
            limit=(cfg.get("data") or {}).get("limit"))  # the members: what the run trained on
        if as_json:
            echo(json.dumps(report, indent=2, default=str))
            return
        black, white = report["membership_black_box"], report["membership_white_box"]
        pix = report["memorisation"]["pixels"]
        ct = report["c_t"]
        ct_text = (f"{ct:.2f}, effect {report['c_t_effect']:+.2f}" if ct == ct else
                   "n/a: no cell holds 5 generated and 5 held-out")
        echo(f"copying:     {'YES' if report['copying'] else 'no'} (C_T = {ct_text}, "
             f"near-copies {pix['near_copy_fraction']:.1%} of {report['n_generated']})")
        lo, hi = black["auc_ci95"]
        echo(f"MIA AUC:     black-box {black['auc']:.3f} [{lo:.3f}, {hi:.3f}], TPR@1%FPR "
             f"{black['tpr_at_1pct_fpr']:.3f}" + (
                 f"; white-box {white['auc']:.3f} ({white['score']})" if white.get("available")
                 else "; white-box unavailable (no training state)"))
        echo(f"privacy:     {describe_privacy(report['privacy'])}")
        echo(f"report:      {RunDir(run_dir_of(checkpoint)).path / 'audit.json'} "
             "(+ audit-closest.png)")
