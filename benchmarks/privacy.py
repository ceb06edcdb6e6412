"""Private synthetic data, measured: for each data set and each ε (∞ = the same recipe without
DP), train a class-conditional GAN under a fixed CPU budget, then score its synthetic set:

- CAS (Classification Accuracy Score, as DPDM and DPImageBench): the project's cnn trained on
  synthetic images and labels only, tested on the real test split;
- FD in the evaluation extractor's features (synthetic vs the real test split);
- the privacy audit (C_T, near-copies, MIA AUC black-box and white-box);
- ε spent, δ, σ, steps (the accounting in the checkpoint).

Plus the audit's two validation fixtures at full scale (--fixtures: an overfit run on 64 images
without augmentation, and the non-private healthy run on all images) and the DP overhead
(images/s with per-sample gradients over the same model's non-private step, --overhead-steps
steps each, measured one after the other in this process).

  .venv/bin/python benchmarks/privacy.py --datasets mnist cifar10 --epsilons 1 10 inf \\
      --minutes 60 --out benchmarks/results/privacy.json

Runs go one after another, on --threads threads, each with a CPU-time budget of --minutes
(train.budget_clock cpu); the noise is planned for --steps steps, so a run stopped by the
budget spends less than its target ε (the spent ε is reported). Run on a quiet machine; a
finished run folder is scored again without retraining (--retrain to redo it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATASETS = {"mnist": "mnist.npz", "cifar10": "cifar10.npz"}


def run_config(data: str, eps: float, args, *, steps: int | None = None, limit=None,
               augment: str = "auto"):
    """The one recipe of every run: conditional dcgan, non-saturating loss, n_critic D steps
    per G step (Bie et al. 2023: more D steps help under DP); DP when eps is finite."""
    from pixelforge.config import build_config

    ov = {"model.name": args.model, "model.conditional": True, "data.path": data,
          "train.batch_size": args.batch_size, "train.steps": steps or args.steps,
          "train.time_budget": args.minutes, "train.budget_clock": "cpu",
          "train.n_critic": args.n_critic, "train.lr_d": args.lr, "train.lr_g": args.lr,
          "train.checkpoint_every": 10**9, "train.sample_every": 10**9, "train.log_every": 50,
          "train.seed": args.seed, "augment.kind": augment, "health.action": "warn",
          "model.recipe": "none"}  # one plain recipe for every ε (no data-tuned choices)
    if limit:
        ov["data.limit"] = limit
    if math.isfinite(eps):
        ov.update({"privacy.target_epsilon": eps, "privacy.max_grad_norm": args.clip,
                   "privacy.accountant": args.accountant})
    return build_config({}, ov)


def train_once(cfg, run_dir: Path, retrain: bool) -> dict:
    from pixelforge.checkpoint import latest_checkpoint
    from pixelforge.training import train

    if retrain or latest_checkpoint(run_dir) is None:
        t0 = time.process_time()
        res = train(cfg, run_dir, progress=False)
        return {"steps": res.step, "images_per_s": res.images_per_second,
                "cpu_seconds": time.process_time() - t0}
    return {"steps": None, "note": "scored an existing run folder"}


def load_split(path: str, split: str, size: int, channels: int):
    from pixelforge.data import load_images

    return load_images(path, image_size=size, channels=channels, split=split, download=False)


def score(run_dir: Path, data: str, args, limit: int | None) -> dict:
    """CAS, FD and the audit of one run's synthetic set."""
    import pixelforge
    from pixelforge.checkpoint import privacy_record, resolve_checkpoint
    from pixelforge.metrics.audit import audit_checkpoint
    from pixelforge.metrics.extractor import extractor_spec, get_extractor
    from pixelforge.metrics.extractor_training import train_extractor
    from pixelforge.metrics.frechet import feature_stats, frechet_distance
    from pixelforge.metrics.images import gather_uint8
    from pixelforge.pipelines.sampling import generate_images

    ckpt = resolve_checkpoint(run_dir)
    pipe = pixelforge.load(ckpt)
    gen = pipe.generator
    size, ch, k = int(gen.image_size), int(gen.channels), int(gen.num_classes)
    train_ds, test_ds = load_split(data, "train", size, ch), load_split(data, "test", size, ch)
    labels = torch.arange(args.n_synth) % k
    synth = generate_images(gen, args.n_synth, seed=args.seed, labels=labels).clamp(-1, 1)
    synth_u8 = ((synth + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    x_test, y_test = gather_uint8(test_ds, torch.arange(len(test_ds)))
    settings = dataclasses.replace(extractor_spec(train_ds, heldout=test_ds).settings(),
                                   epochs=args.cas_epochs)
    cas = train_extractor(settings, synth_u8, labels, x_test, y_test).accuracy
    ext = get_extractor(train_ds, heldout=test_ds)
    f_s, f_t = ext.features(synth), ext.features((x_test.float() / 127.5) - 1)
    fd = frechet_distance(*feature_stats(f_s), *feature_stats(f_t))
    audit = audit_checkpoint(pipe, ckpt, Path(run_dir), data_spec=data, holdout_spec=None,
                             n=min(args.n_audit, args.n_synth), seed=args.seed,
                             n_mia=args.n_mia, limit=limit)
    return {"cas": cas, "fd": fd, "extractor": ext.label, "privacy": privacy_record(ckpt),
            "audit": _audit_summary(audit)}


def _audit_summary(a: dict) -> dict:
    return {"copying": a["copying"], "c_t": a["c_t"],
            "near_copy_fraction": a["memorisation"]["pixels"]["near_copy_fraction"],
            "mia_auc_black_box": a["membership_black_box"]["auc"],
            "mia_auc_black_box_ci95": a["membership_black_box"]["auc_ci95"],
            "mia_auc_white_box": a["membership_white_box"].get("auc"),
            "tpr_at_1pct_fpr": a["membership_black_box"]["tpr_at_1pct_fpr"]}


def overhead(data: str, args, work: Path) -> dict:
    """images/s of the DP step over the same model's plain step, --overhead-steps each."""
    from pixelforge.training import train

    out = {}
    for name, eps in (("plain", math.inf), ("dp", 10.0)):
        cfg = run_config(data, eps, args, steps=args.overhead_steps)
        cfg.train.time_budget = None
        res = train(cfg, work / f"overhead-{name}", progress=False)
        out[f"images_per_s_{name}"] = res.images_per_second
    out["dp_over_plain"] = out["images_per_s_dp"] / out["images_per_s_plain"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "cifar10"], choices=DATASETS)
    p.add_argument("--data-root", type=Path, default=SHARED)
    p.add_argument("--epsilons", nargs="+", type=float, default=[1.0, 10.0, math.inf])
    p.add_argument("--minutes", type=float, default=60.0, help="CPU minutes per run")
    p.add_argument("--steps", type=int, default=3000, help="steps the DP noise is planned for")
    p.add_argument("--model", default="dcgan")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--n-critic", type=int, default=1)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--clip", type=float, default=1.0, help="privacy.max_grad_norm")
    p.add_argument("--accountant", default="rdp", choices=["rdp", "prv"])
    p.add_argument("--n-synth", type=int, default=60000, help="synthetic images for CAS and FD")
    p.add_argument("--n-audit", type=int, default=10000)
    p.add_argument("--n-mia", type=int, default=1000)
    p.add_argument("--cas-epochs", type=int, default=5)
    p.add_argument("--limit", type=int, default=None, help="use only the first N training "
                   "images (smoke tests)")
    p.add_argument("--fixtures", action="store_true", help="also the overfit fixture (64 "
                   "images, no augmentation) at the same budget")
    p.add_argument("--overhead-steps", type=int, default=0, help="measure the DP overhead")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-privacy")
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in vars(args).items()},
               "machine": {"threads": args.threads, "torch": torch.__version__},
               "runs": []}
    for name in args.datasets:
        data = str(args.data_root / DATASETS[name])
        jobs = [(f"{name}-eps{e:g}", e, args.limit, "auto") for e in args.epsilons]
        if args.fixtures:
            jobs.append((f"{name}-overfit64", math.inf, 64, "none"))
        for run_name, eps, limit, augment in jobs:
            run_dir = args.work / run_name
            cfg = run_config(data, eps, args, limit=limit, augment=augment)
            row = {"run": run_name, "dataset": name, "target_epsilon": eps
                   if math.isfinite(eps) else None, **train_once(cfg, run_dir, args.retrain)}
            row.update(score(run_dir, data, args, limit))
            results["runs"].append(row)
            print(json.dumps(row, default=str), file=sys.stderr, flush=True)
            _write(results, args.out)
        if args.overhead_steps:
            results.setdefault("overhead", {})[name] = overhead(data, args, args.work)
            _write(results, args.out)
    return 0


def _write(results: dict, path: Path) -> None:
    from pixelforge.metrics.report import _clean  # non-finite floats -> null

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(results), indent=2, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
