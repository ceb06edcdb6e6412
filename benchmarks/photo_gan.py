"""The colour-photo GAN default against the plain DCGAN recipe, as a user meets them (issue 22).

Each run is the CLI a user types, on the shared photos (`../shared/data/photos/train`, 99 colour
photographs), one thread, the budget on the process-CPU clock:

  default   pixelforge train --data photos/train              (the recipe picked for the data)
  plain     pixelforge train --data photos/train --model dcgan --model.recipe none
                                                              (the 2016 DCGAN recipe)

at 64 px and at 128 px (`--model.image_size`; the default recipe picks 64 itself, the plain one
would pick the data's nearest size up to 128). A run trains 10 CPU-minutes, is scored, then
resumes (`--resume`, bit-exact) for 20 more and is scored again, so the 10 and 30 CPU-minute rows
are one run's two checkpoints.

Scoring (one evaluator no recipe trains against): 1000 samples of the EMA generator against the
99 training photos at the run's size (centre square, as training loads them), in the features of
the shipped photo judge (metrics/photo_judge.py: 32 px patches at scales 1 and 1/2):
  - photo FD and KID (unbiased MMD^2, cubic kernel) to the photos;
  - colourfulness (Hasler & Suesstrunk 2003), mean over pictures, against the photos' own;
  - diversity: the samples' mean pairwise pixel distance over the photos' (1 = as varied);
  - grid: the samples' mean energy at the frequencies of a 2^k-px periodic pattern (2 to 32 px,
    metrics/block_artefacts.py) over the photos' own, at the worst period: 1 for photos, > 1
    for a generator that prints a grid (transposed-convolution checkerboards, tiled motifs);
  - near-copies: the fraction of samples whose nearest training photo (pixels) is closer than
    1/3 of their mean distance to the 50 nearest (Carlini et al. 2023's rule, metrics/copying.py);
    0 for the held-out photos, 1 for a generator that replays its training set.
Reference rows: an untrained generator of each recipe (the ceiling) and the 17 held-out test
photos (KID is unbiased, so their KID is the floor; their FD is inflated by n = 17).

  .venv/bin/python benchmarks/photo_gan.py run --jobs 2              # 4 runs x 30 CPU-min, ~65 min
  .venv/bin/python benchmarks/photo_gan.py table --json benchmarks/results/photo_gan.json
  .venv/bin/python benchmarks/photo_gan.py add-grid   # rows recorded before `grid` existed
  .venv/bin/python benchmarks/photo_gan.py figure     # docs/images/photo-gan-{64,128}.jpg
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"
RECIPES = {"default": [], "plain": ["--model", "dcgan", "--model.recipe", "none"]}
SIZES = (64, 128)
N_GEN = 1000


def run_dir(out: Path, recipe: str, size: int) -> Path:
    return out / f"{recipe}-{size}"


def train_cmd(recipe: str, size: int, folder: Path, minutes: float, resume: bool) -> list[str]:
    cmd = [str(ROOT / ".venv" / "bin" / "pixelforge"), "--threads", "1", "train",
           "--data", str(PHOTOS / "train"), "--out", str(folder), "--steps", "10000000",
           "--train.time_budget", str(minutes), "--train.budget_clock", "cpu",
           "--train.seed", "0", "--model.image_size", str(size), *RECIPES[recipe]]
    return cmd + (["--resume"] if resume else [])


def _real(size: int, split: str):
    import torch

    from pixelforge.data import load_images

    data = load_images(str(PHOTOS / split), image_size=size, channels=3)
    return torch.stack([data[i][0] for i in range(len(data))])


def kid(a, b, subsets: int = 10, size: int = 1000) -> float:
    """KID (Binkowski et al. 2018): the mean unbiased MMD^2 over seeded subsets of both sets,
    each side drawn up to `size` on its own (metrics.kid.kernel_distance draws equal sizes, so
    at 64 px it would cut 1000 samples' 5000 patches to the photos' 495)."""
    import numpy as np

    from pixelforge.metrics.kid import mmd2_unbiased

    rng = np.random.default_rng(0)
    pick = lambda f: f[rng.choice(len(f), min(size, len(f)), replace=False)]  # noqa: E731
    return float(np.mean([mmd2_unbiased(pick(a), pick(b)) for _ in range(subsets)]))


def grid_ratio(fake, real) -> float:
    """Per-picture block-frequency energy of `fake` over `real`, at the worst 2^k period."""
    from pixelforge.metrics.block_artefacts import block_energy

    ef = [e / len(fake) for e in block_energy(fake)]
    er = [e / len(real) for e in block_energy(real)]
    return max(a / b for a, b in zip(ef, er, strict=True) if b > 0)


def add_grid(out: Path) -> None:
    """Score `grid` for the rows recorded before it existed, from each run's last checkpoint
    (the rows of its final budget; earlier checkpoints are not kept)."""
    import torch

    import pixelforge

    torch.set_num_threads(1)
    rows = read_rows(out)
    for r in rows:
        if "grid" in r or "photo_fd" not in r or r.get("budget_cpu_min") is None:
            continue
        last = max(x.get("budget_cpu_min", 0) for x in rows
                   if x["recipe"] == r["recipe"] and x["size"] == r["size"])
        if r["budget_cpu_min"] != last:
            continue
        fake = pixelforge.load(run_dir(out, r["recipe"], r["size"])).generate(N_GEN, seed=1234)
        r["grid"] = round(grid_ratio(fake.float(), _real(r["size"], "train")), 3)
        print(r["recipe"], r["size"], r["budget_cpu_min"], "grid", r["grid"], flush=True)
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def score_images(fake, real, held, generator_size: int) -> dict:
    """The scores of the docstring for images `fake` against `real` (train) and `held` (test)."""
    from pixelforge.metrics.colourfulness import mean_colourfulness
    from pixelforge.metrics.photo_judge import fd_of_features, judge_features
    from pixelforge.training.health import pairwise_spread

    f_fake, f_real = judge_features(fake), judge_features(real)
    from pixelforge.metrics.audit import pixels
    from pixelforge.metrics.copying import NEAR_COPY_K, near_copy_mask, nearest

    dists, _ = nearest(pixels(fake), pixels(real), k=NEAR_COPY_K)
    grid = grid_ratio(fake, real)
    return {"photo_fd": round(fd_of_features(f_fake, f_real), 3),
            "photo_kid": round(kid(f_fake, f_real), 5),
            "colourfulness": round(mean_colourfulness(fake), 2),
            "colourfulness_real": round(mean_colourfulness(real), 2),
            "diversity": round(pairwise_spread(fake[:500]) / pairwise_spread(real), 3),
            "near_copies": round(float(near_copy_mask(dists).mean()), 4), "grid": round(grid, 3),
            "n_generated": len(fake), "n_real": len(real), "size": generator_size}


def score_run(folder: Path, size: int) -> dict:
    import torch

    import pixelforge

    torch.set_num_threads(1)
    pipe = pixelforge.load(folder)
    fake = pipe.generate(N_GEN, seed=1234).float()
    return score_images(fake, _real(size, "train"), _real(size, "test"), size)


def _steps_of(folder: Path) -> dict:
    """The last logged step of the run's train log."""
    log = folder / "train_log.jsonl"
    lines = [json.loads(x) for x in log.read_text().splitlines()] if log.is_file() else []
    return {"steps": int(lines[-1]["step"]) if lines else 0}


def one_run(out: Path, recipe: str, size: int, budget: float, first: float = 10.0) -> None:
    """Train `first` CPU-min, score, resume to `budget`, score; rows go to out/results.jsonl."""
    folder = run_dir(out, recipe, size)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for stage, minutes, resume in ((first, first, False), (budget, budget - first, True)):
        t0 = time.time()
        p = subprocess.run(train_cmd(recipe, size, folder, minutes, resume), env=env,
                           capture_output=True, text=True)
        child = os.times()
        row = {"recipe": recipe, "size": size, "budget_cpu_min": stage, "exit": p.returncode,
               "wall_s": round(time.time() - t0, 1),
               "children_cpu_s": round(child.children_user + child.children_system, 1),
               **_steps_of(folder)}
        if p.returncode != 0:
            row["error"] = p.stderr.strip().splitlines()[-1:] or ["?"]
        else:
            row["log"] = [x for x in p.stderr.splitlines() if "recipe" in x or "model" in x][:6]
            row.update(score_run(folder, size))
            import yaml

            cfg = yaml.safe_load((folder / "config.yaml").read_text())
            row["config"] = {"model": cfg["model"], "train": {k: cfg["train"][k] for k in (
                "batch_size", "loss", "lr_g", "lr_d", "betas", "ema_decay", "precision")},
                "augment": cfg.get("augment", {}).get("kind")}
        with open(out / "results.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(json.dumps({k: row.get(k) for k in ("recipe", "size", "budget_cpu_min", "steps",
                                                   "photo_fd", "photo_kid", "exit")}), flush=True)
        if p.returncode != 0:
            return


def references(out: Path) -> None:
    """Ceilings (untrained generators of both recipes) and the held-out floor, per size."""
    import torch

    from pixelforge.config import build_config
    from pixelforge.models import MODELS
    from pixelforge.pipelines.sampling import generate_images
    from pixelforge.recipes import resolve_run_config

    torch.set_num_threads(1)
    for size in SIZES:
        real, held = _real(size, "train"), _real(size, "test")
        rows = [{"recipe": "held-out test photos", "size": size, **score_images(held, real, held,
                                                                               size)}]
        for recipe, extra in (("default", {}), ("plain", {"model.name": "dcgan",
                                                          "model.recipe": "none"})):
            cfg, _ = resolve_run_config(build_config({}, {"data.path": str(PHOTOS / "train"),
                                                           "model.image_size": size, **extra}))
            m = cfg.model
            torch.manual_seed(0)
            g = MODELS.get(m.name).build("generator", image_size=m.image_size,
                                         channels=m.channels, latent_dim=m.latent_dim, **m.params)
            fake = generate_images(g.eval(), N_GEN, seed=1234).float()
            rows.append({"recipe": f"untrained {recipe}", **score_images(fake, real, held, size)})
        with open(out / "results.jsonl", "a") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
                print(json.dumps(r), flush=True)


def figure(out: Path, size: int) -> Path:
    """docs/images/photo-gan-<size>.jpg: the first 4 x 4 pictures of each run's fixed-seed sample
    grid (the trainer's, EMA G) at its 10 and 30 CPU-minute steps; rows default, plain."""
    from PIL import Image

    rows = [r for r in read_rows(out) if r.get("size") == size and "steps" in r]
    sheet = []
    for recipe in RECIPES:
        steps = sorted((r["budget_cpu_min"], r["steps"]) for r in rows if r["recipe"] == recipe)
        for _, step in steps:
            im = Image.open(run_dir(out, recipe, size) / "samples" / f"step-{step:07d}.png")
            tile = (im.size[0] - 2) // 8  # 8 x 8 pictures, 2 px padding
            sheet.append(im.convert("RGB").crop((0, 0, 4 * tile + 2, 4 * tile + 2)))
    w, gap, cols = sheet[0].size[0], 8, len(sheet) // len(RECIPES)
    canvas = Image.new("RGB", (cols * w + (cols - 1) * gap, 2 * w + gap), "white")
    for i, im in enumerate(sheet):
        canvas.paste(im, ((i % cols) * (w + gap), (i // cols) * (w + gap)))
    path = ROOT / "docs" / "images" / f"photo-gan-{size}.jpg"
    canvas.save(path, quality=88)
    return path


def read_rows(out: Path) -> list[dict]:
    f = out / "results.jsonl"
    return [json.loads(x) for x in f.read_text().splitlines()] if f.is_file() else []


def table(rows: list[dict]) -> str:
    head = ("| recipe | size | CPU-min | steps | photo FD | KID | colourfulness (photos) "
            "| diversity | grid | near-copies |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    key = lambda r: (r["size"], r.get("budget_cpu_min", 0), r.get("photo_fd", 1e9))  # noqa: E731
    for r in sorted(rows, key=key):
        if "photo_fd" not in r:
            continue
        grid = f"{r['grid']:.2f}" if "grid" in r else "-"
        lines.append(f"| {r['recipe']} | {r['size']} | {r.get('budget_cpu_min', '-')} | "
                     f"{r.get('steps', '-')} | {r['photo_fd']:.2f} | {r['photo_kid']:.4f} | "
                     f"{r['colourfulness']:.1f} ({r['colourfulness_real']:.1f}) | "
                     f"{r['diversity']:.2f} | {grid} | {r['near_copies']:.1%} |")
    return head + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=["run", "one", "references", "add-grid", "figure", "table"])
    ap.add_argument("--recipe", choices=list(RECIPES))
    ap.add_argument("--size", type=int, choices=SIZES)
    ap.add_argument("--budget", type=float, default=30.0, help="CPU-minutes per run (> 10)")
    ap.add_argument("--first", type=float, default=10.0, help="CPU-minutes of the first score")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/bench/photo_gan"))
    ap.add_argument("--json", type=Path, default=None, help="table: also write the rows here")
    args = ap.parse_args(argv)
    if not (PHOTOS / "train").is_dir():
        print(f"SKIP: {PHOTOS / 'train'} is absent", file=sys.stderr)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "one":
        one_run(args.out, args.recipe, args.size, args.budget, args.first)
    elif args.what == "references":
        references(args.out)
    elif args.what == "add-grid":
        add_grid(args.out)
    elif args.what == "figure":
        for size in SIZES:
            print(figure(args.out, size))
    elif args.what == "run":
        me = [sys.executable, __file__, "--out", str(args.out), "--budget", str(args.budget),
              "--first", str(args.first)]
        queue = [me + ["one", "--recipe", r, "--size", str(s)] for s in SIZES for r in RECIPES]
        queue.append(me + ["references"])
        running: list[subprocess.Popen] = []
        while queue or running:
            while queue and len(running) < args.jobs:
                running.append(subprocess.Popen(queue.pop(0)))
            time.sleep(2)
            running = [p for p in running if p.poll() is None]
    else:
        rows = read_rows(args.out)
        print(table(rows))
        if args.json:
            args.json.write_text(json.dumps({"benchmark": "photo_gan", "rows": rows}, indent=1)
                                 + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
