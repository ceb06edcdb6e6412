"""Does D memorise a small data set, and does augmentation stop it? One run per gan_quality name,
checkpointed every --every steps; for each checkpoint, D's real accuracy on the images it trained on
and on held-out test images, and the EMA generator's FD (the curves of Karras et al. 2020, fig. 1).

  # plain BatchNorm dcgan on the first 1000 MNIST digits, with and without DiffAugment (translation)
  .venv/bin/python benchmarks/gan_overfit.py --dataset mnist-1k --budget 10 \\
      --runs dcgan "dcgan+diffaugment@augment.policy=[translation]"

Runs train one after another on --threads threads with the CPU-time budget of gan_quality.py and
the same run names (`<config>[+diffaugment|+ada][@key=value,...]`); scoring comes after training, so
it costs the runs nothing. FD uses --n-gen samples (fewer than the benchmark's 5000: the curve is
for its shape). A finished run folder is scored again without retraining (--retrain to redo it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import gan_quality as gq


def train_run(ds: gq.DataSet, name: str, args, run_dir: Path) -> None:
    from pixelforge.training import train

    cfg = gq.run_config(ds, name, budget=args.budget, seed=args.seed)
    cfg = cfg.model_copy(update={"train": cfg.train.model_copy(
        update={"checkpoint_every": args.every, "keep_checkpoints": 10**6})})
    train(cfg, run_dir, progress=False)


def curve(ds: gq.DataSet, name: str, args, run_dir: Path) -> list[dict]:
    import pixelforge
    from pixelforge.rundir import META_FILE, RunDir

    cfg = gq.run_config(ds, name, budget=args.budget, seed=args.seed)
    rows = []
    for ckpt in RunDir(run_dir).step_dirs():
        step = int(json.loads((ckpt / META_FILE).read_text())["step"])
        s = gq.score(pixelforge.load(ckpt), ds, args.n_gen)
        rows.append({"run": name, "step": step, **gq.d_real_accuracy(cfg, ds, ckpt),
                     "fd": s["fd"], "precision": s["precision"], "recall": s["recall"]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataset", default="mnist-1k", choices=list(gq.DATASETS))
    ap.add_argument("--runs", nargs="+", default=["dcgan", "dcgan+diffaugment"])
    ap.add_argument("--budget", type=float, default=10.0, help="CPU-minutes per run")
    ap.add_argument("--every", type=int, default=1000, help="steps between checkpoints")
    ap.add_argument("--n-gen", type=int, default=2000, help="samples per FD")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench/gan_overfit")
    ap.add_argument("--retrain", action="store_true", help="train again even if a run folder exists")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = gq.DATASETS[args.dataset]
    if not ds.path.is_file():
        print(f"SKIP: {ds.path} is absent (the shared data sets)", file=sys.stderr)
        return 0
    rows = []
    for name in args.runs:
        gq.split_name(name)  # a bad name fails before any training
        run_dir = Path(args.out) / args.dataset / name.replace("/", "_")
        if args.retrain or not (run_dir / "checkpoints").is_dir():
            train_run(ds, name, args, run_dir)
        rows += curve(ds, name, args, run_dir)
    print(f"\n### {args.dataset}: D's real accuracy and FD along training "
          f"({args.budget:g} CPU-minutes per run, FD from {args.n_gen} samples)\n")
    print("| run | step | D real acc: trained-on | held-out | FD | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['run']} | {r['step']} | {gq._f(r.get('d_acc_train'), '.2f')} | "
              f"{gq._f(r.get('d_acc_heldout'), '.2f')} | {r['fd']:.2f} | {r['precision']:.3f} | "
              f"{r['recall']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
