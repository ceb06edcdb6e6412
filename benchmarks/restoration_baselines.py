"""Classical restoration baselines on seeded photo crops: tunes NL-means `h` per sigma on
photos/train and scores every baseline on photos/test (PSNR/SSIM, the restoration protocol).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/restoration_baselines.py tune --sigmas 15 25 50
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/restoration_baselines.py score --n 17

`photo_crops` is also what the restoration tests and the restoration benchmark use: one crop per
image, position drawn from the seed, so the evaluation set is reproducible.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pixelforge.baselines import classical as cl
from pixelforge.core.images import to_float, to_uint8
from pixelforge.data.degradations import bicubic_down, degrade, from_uint8_hwc
from pixelforge.data.masks import random_mask
from pixelforge.metrics.restoration import psnr, ssim, tune_nlmeans_h

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"


def photo_crops(split: str = "test", n: int | None = None, size: int = 128, seed: int = 0,
                root: Path = PHOTOS) -> list[torch.Tensor]:
    """One seeded size x size crop ([3, size, size] in [-1, 1]) per photo of `split`, sorted by name."""
    files = sorted((root / split).glob("*.png"))[:n]
    rng = np.random.default_rng(seed)
    out = []
    for f in files:
        with Image.open(f) as im:
            a = np.asarray(im.convert("RGB"))
        y = int(rng.integers(0, a.shape[0] - size + 1))
        x = int(rng.integers(0, a.shape[1] - size + 1))
        out.append(from_uint8_hwc(a[y:y + size, x:x + size]))
    return out


def tune(args: argparse.Namespace) -> dict:
    crops = photo_crops("train", args.n, args.size, seed=1)
    table = {}
    for sigma in args.sigmas:
        t = time.perf_counter()
        best, scores = tune_nlmeans_h(crops, sigma, seed=1)
        table[sigma] = {"h": best, "psnr": scores[best], "scores": scores,
                        "seconds": round(time.perf_counter() - t, 1)}
        print(f"sigma {sigma}: best h {best} ({scores[best]:.2f} dB); "
              + ", ".join(f"{h}: {v:.2f}" for h, v in scores.items()), flush=True)
    return {"split": "train", "n": len(crops), "size": args.size, "crop_seed": 1,
            "noise_seed": 1, "table": table}


def score(args: argparse.Namespace) -> dict:
    crops = torch.stack(photo_crops("test", args.n, args.size, seed=0))
    res: dict[str, dict[str, float]] = {}
    for sigma in args.sigmas:
        noisy = degrade(crops, f"noise:{sigma}", seed=0)
        noisy = to_float(to_uint8(noisy))  # an 8-bit noisy photo
        row = {"noisy": float(psnr(noisy, crops).mean())}
        for name, fn in cl.BASELINES["denoise"].items():
            y = fn(noisy, sigma)
            row[name] = float(psnr(y, crops).mean())
            row[name + "_ssim"] = float(ssim(y, crops).mean())
        res[f"denoise sigma {sigma}"] = row
    for scale in (2, 4):
        lr = bicubic_down(crops, scale)
        row = {}
        for name, fn in cl.BASELINES["upscale"].items():
            row[name + "_psnr_y"] = float(psnr(fn(lr, scale), crops, crop=scale, y_channel=True).mean())
        res[f"upscale x{scale}"] = row
    for proto in ("thin", "medium", "thick"):
        masks = torch.stack([random_mask(proto, args.size, args.size, seed=i)
                             for i in range(len(crops))])
        row = {}
        for name, fn in cl.BASELINES["inpaint"].items():
            row[name + "_psnr_hole"] = float(psnr(fn(crops, masks), crops, mask=masks).mean())
        res[f"inpaint {proto}"] = row
    for k, row in res.items():
        print(k, " ".join(f"{n}={v:.2f}" for n, v in row.items()), flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["tune", "score"])
    ap.add_argument("--sigmas", type=int, nargs="+", default=[15, 25, 50])
    ap.add_argument("--n", type=int, default=None, help="images (default: all of the split)")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if not PHOTOS.is_dir():
        print(f"needs {PHOTOS}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    out = tune(args) if args.what == "tune" else score(args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
