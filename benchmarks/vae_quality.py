"""VAE family quality under a fixed CPU budget: IWAE NLL bound, PSNR and sample FD per model.

Usage (from the repo root; needs ../shared/data/{mnist,cifar10}.npz, skips an absent data set):

  python benchmarks/vae_quality.py --dataset mnist --models vae --minutes 20 --k 1000
  python benchmarks/vae_quality.py --dataset mnist cifar10 --minutes 5 --k 100 --n-test 1000

Each model trains through the one trainer (pixelforge.training.train) from the shipped recipes vae/*.yaml
until its budget (train.time_budget; process CPU minutes by default, --clock wall for wall time)
runs out (the trainer saves a checkpoint and stops), then is scored on the test split. Results go to <out>/results.jsonl and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

from pixelforge.configs import root as configs_root

ROOT = Path(__file__).resolve().parents[1]
DATA = {"mnist": ROOT.parent / "shared" / "data" / "mnist.npz",
        "cifar10": ROOT.parent / "shared" / "data" / "cifar10.npz"}
# name -> (config file stem, model.params overrides, other config overrides)
MODELS = {
    "vae": ("vae", {}, {}),
    "beta-vae-2": ("beta_vae", {"beta": 2.0}, {}),
    "beta-vae-8": ("beta_vae", {"beta": 8.0}, {}),
    "vae-gan": ("vae_gan", {}, {}),  # the shipped recipe: SN D, hinge, adv_weight 0.1
    # ablations of it: the earlier D (BatchNorm-free plain convs, non-saturating loss) ...
    "vae-gan-plain-d": ("vae_gan", {"disc_spectral_norm": False},
                        {"train.loss": "non-saturating"}),
    # ... the SN D with the earlier adversarial weight, and with a tenth of the pixel NLL
    "vae-gan-a02": ("vae_gan", {"adv_weight": 0.02}, {}),
    "vae-gan-p01": ("vae_gan", {"pixel_weight": 0.1}, {}),
    "vae-gan-b2": ("vae_gan", {"beta": 2.0, "kl_warmup": 2000}, {}),
    # the vae's MLP encoder/decoder, batch and optimizer, plus vae-gan's D terms
    "vae-gan-mlp": ("vae_gan", {"arch": "mlp", "width": 512},
                    {"train.batch_size": 128, "train.lr_g": 1e-3, "train.betas": [0.9, 0.999]}),
}


def _config(dataset: str, name: str, stem: str, params: dict, extra: dict, seed: int,
            minutes: float, clock: str):
    from pixelforge.config import build_config, load_yaml

    path = configs_root() / "vae" / f"{dataset}_{stem}.yaml"
    if not path.is_file():
        return None
    tree = load_yaml(path)
    tree["data"]["path"] = str(DATA[dataset])
    tree["model"]["params"] = {**tree["model"].get("params", {}), **params}
    return build_config(tree, {"train.steps": 10**7, "train.seed": seed,
                               "train.checkpoint_every": 10**7, "train.time_budget": minutes,
                               "train.budget_clock": clock, **extra}, source=str(path))


def _frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance of Gaussians fitted to two feature sets [N, F] (Dowson & Landau 1982)."""
    import numpy as np
    from scipy import linalg

    a, b = a.double().numpy(), b.double().numpy()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))


def _local_extractor(dataset: str, image_size: int, channels: int, seed: int, epochs: int = 1):
    """The package's cnn classifier trained briefly on the real train split (fixed seed)."""
    from pixelforge.data import load_images
    from pixelforge.models import MODELS
    from pixelforge.pipelines.autoencode import dataset_arrays

    ds = load_images(str(DATA[dataset]), image_size=image_size, channels=channels, split="train")
    x, y = dataset_arrays(ds)
    torch.manual_seed(seed)
    net = MODELS.get("cnn").build("classifier", channels=channels, num_classes=10)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(128):
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def local_fd(runs: list[Path], dataset: str, n: int, seed: int) -> dict[str, float]:
    """FD of each run's prior samples vs n real test images, one shared cnn extractor for all."""
    import pixelforge
    from pixelforge.data import load_images
    from pixelforge.pipelines.autoencode import dataset_arrays

    models = {str(r): pixelforge.load(r) for r in runs}
    first = next(iter(models.values()))
    net = _local_extractor(dataset, first.image_size, first.channels, seed)
    torch.set_grad_enabled(False)
    test = load_images(str(DATA[dataset]), image_size=first.image_size, channels=first.channels,
                       split="test", limit=n)
    real = torch.cat([net.features(c) for c in dataset_arrays(test)[0].split(500)])
    half = len(real) // 2  # real-vs-real floor: two disjoint halves of the test set
    out = {"real_half_vs_half": _frechet(real[:half], real[half:])}
    for name, m in models.items():
        fake = m.generate(len(real), seed=seed + 1)  # [n, C, H, W]
        out[name] = _frechet(real, torch.cat([net.features(c) for c in fake.split(500)]))
    return out


def _fd(gen, dataset: str, n: int, run_dir: Path, step: int):
    """Sample FD from the shared metrics layer (cnn features), or None when it is not available."""
    try:
        from pixelforge.config import EvalConfig
        from pixelforge.data import load_images
        from pixelforge.metrics import evaluate_generator
    except ImportError as exc:
        print(f"  (shared sample FD unavailable: {exc}; use --fd-runs for the local cnn FD)",
              flush=True)
        return None
    real = load_images(str(DATA[dataset]), image_size=gen.image_size, channels=gen.channels,
                       split="test")
    scores = evaluate_generator(gen, real, EvalConfig(n_generated=n), run_dir=run_dir, step=step,
                                data_spec=str(DATA[dataset]), inception=False, baselines=False)
    return {k: v for k, v in scores.items() if isinstance(v, (int, float)) and ("fd" in k.lower()
                                                                           or "kid" in k.lower())}


def run_one(dataset: str, name: str, args) -> dict | None:
    import pixelforge
    from pixelforge.checkpoint import latest_checkpoint
    from pixelforge.data import load_images
    from pixelforge.metrics.likelihood import likelihood_scores
    from pixelforge.metrics.reconstruction import reconstruction_scores
    from pixelforge.pipelines.autoencode import reconstruct
    from pixelforge.training import train

    stem, params, extra = MODELS[name]
    cfg = _config(dataset, name, stem, params, extra, args.seed, args.minutes, args.clock)
    if cfg is None:
        print(f"{dataset}/{name}: no shipped recipe vae/{dataset}_{stem}, skipped")
        return None
    run = Path(args.out) / f"{dataset}-{name}"
    if args.score_only:  # a finished run: score its latest checkpoint again, no training
        ckpt = latest_checkpoint(run)
        if ckpt is None:
            print(f"{dataset}/{name}: --score-only but {run} has no checkpoint, skipped")
            return None
        step, train_s = int(ckpt.name.split("-")[-1]), None
    else:
        shutil.rmtree(run, ignore_errors=True)
        t0 = time.perf_counter()
        step = train(cfg, run, progress=False).step  # stops at the budget, with a checkpoint
        train_s = round(time.perf_counter() - t0, 1)
    model = pixelforge.load(run, component="generator")  # the VAE network the metrics score
    test = load_images(str(DATA[dataset]), image_size=model.image_size, channels=model.channels,
                       split="test", limit=args.n_test)
    images, labels = test.tensors() if test.tensors() is not None else (None, None)
    images = images.float().div(127.5).sub(1.0)
    t1 = time.perf_counter()
    lik = likelihood_scores(model, images, labels, k=args.k, batch_size=args.eval_batch,
                            seed=args.seed)
    rec = reconstruction_scores(images, reconstruct(model, images, labels))
    eval_s = time.perf_counter() - t1
    row = {"dataset": dataset, "model": name, "family": cfg.model.name, "steps": step,
           "train_seconds": train_s, "eval_seconds": round(eval_s, 1),
           "batch_size": cfg.train.batch_size, "params": cfg.model.params, **lik, **rec}
    if args.fd:
        try:
            row["fd"] = _fd(model, dataset, args.fd_n, run, step)
        except Exception as exc:  # the shared metrics layer is optional here; keep the row
            row["fd"] = f"failed: {type(exc).__name__}: {exc}"
    print(json.dumps(row), flush=True)
    with open(Path(args.out) / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    return row


def write_json(path: Path, rows: list[dict], args) -> None:
    """Merge `rows` into the results file: a (dataset, model) measured now replaces its old row;
    each row carries the budget and scoring settings it was measured with."""
    settings = {"minutes": args.minutes, "clock": args.clock, "k": args.k, "n_test": args.n_test,
                "fd_n": args.fd_n, "seed": args.seed, "threads": args.threads}
    new = [{**r, **settings} for r in rows]
    done = {(r["dataset"], r["model"]) for r in new}
    old = json.loads(path.read_text())["rows"] if path.is_file() else []
    keep = [r for r in old if (r["dataset"], r["model"]) not in done]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"benchmark": "benchmarks/vae_quality.py", "rows": keep + new},
                               indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataset", nargs="+", default=["mnist", "cifar10"], choices=sorted(DATA))
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--minutes", type=float, default=20.0, help="training budget per model")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="count the budget in process CPU time (fair on a shared machine) or wall time")
    ap.add_argument("--k", type=int, default=1000, help="importance samples of the IWAE bound")
    ap.add_argument("--n-test", type=int, default=None, help="test images to score (default all)")
    ap.add_argument("--eval-batch", type=int, default=16)
    ap.add_argument("--fd", action=argparse.BooleanOptionalAction, default=True,
                    help="sample FD through pixelforge.metrics when it is installed")
    ap.add_argument("--fd-n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads; 1 is much faster when other jobs load the cores")
    ap.add_argument("--out", default="runs/bench-vae")
    ap.add_argument("--score-only", action="store_true",
                    help="score the runs already in --out (latest checkpoint) without training")
    ap.add_argument("--json", type=Path, default=None,
                    help="also merge the rows into this results file (benchmarks/results/"
                    "vae_quality.json; benchmarks/docs_tables.py makes the docs' table from it)")
    ap.add_argument("--fd-runs", nargs="+", type=Path, default=None,
                    help="only score these run folders' samples with one local cnn extractor "
                    "(Frechet distance in its features) on --dataset, then exit")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.fd_runs:
        scores = local_fd(args.fd_runs, args.dataset[0], args.fd_n, args.seed)
        print(json.dumps({"dataset": args.dataset[0], "n": args.fd_n, "local_cnn_fd": scores},
                         indent=2))
        return 0
    Path(args.out).mkdir(parents=True, exist_ok=True)
    rows = []
    for dataset in args.dataset:
        if not DATA[dataset].is_file():
            print(f"SKIP {dataset}: {DATA[dataset]} not found (the shared data sets are absent)")
            continue
        for name in args.models:
            row = run_one(dataset, name, args)
            if row:
                rows.append(row)
    if args.json:
        write_json(args.json, rows, args)
    print(f"\n{'data':8} {'model':11} {'steps':>7} {'-ELBO':>8} {'IWAE NLL':>9} {'bits/dim':>8} "
          f"{'PSNR':>6} {'SSIM':>6}  FD")
    for r in rows:
        print(f"{r['dataset']:8} {r['model']:11} {r['steps']:>7} {r['neg_elbo']:8.2f} "
              f"{r['iwae_nll']:9.2f} {r['bits_per_dim']:8.4f} {r['psnr']:6.2f} {r['ssim']:6.3f}  "
              f"{r.get('fd')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
