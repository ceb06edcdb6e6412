"""Does a class-conditional generator use its noise? The spread of its samples within one class
against across classes, each relative to the real images' (what the health check measures).

  .venv/bin/python benchmarks/class_spread.py runs/bench-privacy/mnist-epsinf \\
      runs/bench-privacy/mnist-dw16-ms-epsinf --data ../shared/data/mnist.npz \\
      --json benchmarks/results/class_spread.json

A generator that makes one image per class has a within-class ratio near 0 while its ratio
across classes looks healthy; docs/privacy.md quotes the results file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from pixelforge import load
from pixelforge.training.health import pairwise_spread

ROOT = Path(__file__).resolve().parents[1]


def real_images(path: Path, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n training images in [-1, 1] [N, C, H, W] and their labels."""
    with np.load(path) as d:
        x = torch.from_numpy(d["x_train"][:n]).float() / 127.5 - 1
        y = torch.from_numpy(d["y_train"][:n]).long()
    return (x[:, None] if x.dim() == 3 else x.permute(0, 3, 1, 2)), y


def real_spreads(real: torch.Tensor, labels: torch.Tensor, n: int) -> tuple[list[float], float]:
    """The real images' spread within each class (n of each) and across classes (the first n)."""
    k = int(labels.max()) + 1
    return [pairwise_spread(real[labels == c][:n]) for c in range(k)], pairwise_spread(real[:n])


def spreads(run: Path, real_within: list[float], real_across: float, n: int, seed: int) -> dict:
    """Within-class ratio (mean over classes, n samples each) and across-class ratio."""
    g = load(run).components["generator"].float().eval()
    k = int(g.num_classes)
    z = torch.randn(n, g.latent_dim, generator=torch.Generator().manual_seed(seed))
    within = []
    with torch.no_grad():
        for c in range(k):
            fake = g(z, torch.full((n,), c, dtype=torch.long))
            within.append(pairwise_spread(fake) / real_within[c])
        across = g(z, torch.arange(n) % k)
    return {"run": str(run), "classes": k, "within_class": round(float(np.mean(within)), 4),
            "within_class_min": round(float(np.min(within)), 4),
            "across_classes": round(pairwise_spread(across) / real_across, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mnist.npz")
    ap.add_argument("--n", type=int, default=64, help="samples per class (and real images)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    real_within, real_across = real_spreads(*real_images(args.data, 5000), args.n)
    rows = [spreads(r, real_within, real_across, args.n, args.seed) for r in args.runs]
    for r in rows:
        print(f"{r['run']}: within one class {r['within_class']:.3f} (min {r['within_class_min']:.3f}), "
              f"across classes {r['across_classes']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "benchmarks/class_spread.py",
                                         "data": args.data.name, "n": args.n, "seed": args.seed,
                                         "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
