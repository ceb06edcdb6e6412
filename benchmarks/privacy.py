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

Runs go one after another in a process, on --threads threads, each with a CPU-time budget of --minutes
(train.budget_clock cpu); the noise is planned for --steps steps, so a run stopped by the
budget spends less than its target ε (the spent ε is reported). Run on a quiet machine; a
finished run folder is scored again without retraining (--retrain to redo it). Processes that
share --out merge their rows into it, so two cores can run two ε side by side, one thread each
(the budgets are CPU time, so the figures do not depend on the split).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATASETS = {"mnist": "mnist.npz", "cifar10": "cifar10.npz"}


# the base recipe every row shares unless its own `recipe` record says otherwise
BASE = {"batch_size": 256, "n_critic": 1, "lr": 2e-4, "planned_steps": 3000}


def run_config(data: str, eps: float, args, *, steps: int | None = None, limit=None,
               augment: str = "auto"):
    """The one recipe of every run: conditional dcgan, hinge loss, n_critic D steps per G step
    (Bie et al. 2023: more D steps help under DP); DP when eps is finite. Hinge, because under
    per-sample clipping a sample's gradient keeps its full norm C however well D already scores
    it, unless the loss itself goes flat: at ε = 10 and 5 CPU-minutes, CAS 25.3% with hinge
    against 12.2% with the non-saturating loss (chance 10%)."""
    from pixelforge.config import build_config

    ov = {"model.name": args.model, "model.conditional": True, "data.path": data,
          "train.batch_size": args.batch_size, "train.steps": steps or args.steps,
          "train.time_budget": args.minutes, "train.budget_clock": "cpu",
          "train.n_critic": args.n_critic, "train.loss": "hinge", "train.lr_d": args.lr, "train.lr_g": args.lr,
          "train.checkpoint_every": 10**9, "train.sample_every": 10**9, "train.log_every": 50,
          "train.seed": args.seed, "augment.kind": augment, "health.action": "warn",
          "model.recipe": "none"}  # one plain recipe for every ε (no data-tuned choices)
    if limit:
        ov["data.limit"] = limit
    ov.update(_overrides(args.set))
    if math.isfinite(eps):
        ov.update({"privacy.target_epsilon": eps, "privacy.max_grad_norm": args.clip,
                   "privacy.accountant": args.accountant})
    return build_config({}, ov)


def _overrides(pairs: list[str]) -> dict:
    """--set key=value pairs (values parsed as YAML: numbers, booleans, lists)."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair!r}: expected key=value")
        out[key] = yaml.safe_load(value)
    return out


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
    import torch

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
    return {"copying": a["copying"], "c_t": a["c_t"], "c_t_effect": a.get("c_t_effect"),
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
    p.add_argument("--steps", type=int, default=BASE["planned_steps"],
                   help="steps the DP noise is planned for")
    p.add_argument("--model", default="dcgan")
    p.add_argument("--batch-size", type=int, default=BASE["batch_size"])
    p.add_argument("--n-critic", type=int, default=BASE["n_critic"])
    p.add_argument("--lr", type=float, default=BASE["lr"])
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
    p.add_argument("--fixture-minutes", type=float, default=None, help="CPU minutes of the "
                   "overfit fixture (default: --minutes)")
    p.add_argument("--tag", default="", help="appended to the run names (e.g. -long for a run "
                   "of the same ε under another --steps)")
    p.add_argument("--clip-only", action="store_true", help="diagnostic, NOT private: runs "
                   "named <data>-cliponly-eps<ε> with DP-SGD's per-sample clipping but no noise "
                   "(what clipping alone costs; their checkpoints' privacy record is void)")
    p.add_argument("--overhead-steps", type=int, default=0, help="measure the DP overhead")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="more config overrides for every run, e.g. model.params.width=32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-privacy")
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.clip_only:
        _no_noise()
    per_process = {"datasets", "epsilons", "fixtures", "overhead_steps", "retrain", "out"}
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in vars(args).items() if k not in per_process},
               "machine": {"threads": args.threads, "torch": torch.__version__},
               "commands": [" ".join(["benchmarks/privacy.py", *(argv or sys.argv[1:])])],
               "runs": []}
    for name in args.datasets:
        data = str(args.data_root / DATASETS[name])
        tag = ("-cliponly" if args.clip_only else "") + args.tag
        jobs = [(f"{name}{tag}-eps{e:g}", e, args.limit, "auto", args.minutes)
                for e in args.epsilons]
        if args.fixtures:
            jobs.append((f"{name}-overfit64", math.inf, 64, "none",
                         args.fixture_minutes or args.minutes))
        for run_name, eps, limit, augment, minutes in jobs:
            run_dir = args.work / run_name
            cfg = run_config(data, eps, args, limit=limit, augment=augment)
            cfg.train.time_budget = minutes
            row = {"run": run_name, "dataset": name,
                   "target_epsilon": eps if math.isfinite(eps) else None,
                   "cpu_minutes_budget": minutes, "recipe": recipe_of(cfg),
                   **train_once(cfg, run_dir, args.retrain)}
            if row.get("note"):  # scored again: keep the training figures of the run's first row
                row.update({k: v for k, v in _earlier_row(args.out, run_name).items()
                            if k in ("steps", "images_per_s", "cpu_seconds")})
            row.update(score(run_dir, data, args, limit))
            if args.clip_only:
                row.update(target_epsilon=None, privacy=None, clip_only=True)
            results["runs"].append(row)
            print(json.dumps(row, default=str), file=sys.stderr, flush=True)
            _write(results, args.out, args.work)
        if args.overhead_steps:
            results.setdefault("overhead", {})[name] = overhead(data, args, args.work)
            _write(results, args.out, args.work)
    return 0


def recipe_of(cfg) -> dict:
    """What can differ between rows' recipes, recorded in each row: G's and D's widths, batch,
    D steps, lr, the steps the noise is planned for, the weight of G's mode-seeking term."""
    from pixelforge.models import MODELS

    params = dict(cfg.model.params)
    width = MODELS.get(cfg.model.name).option("width", params)
    if cfg.model.name == "merf":  # no D: the G's lr, batch and steps, the features' settings
        return {"model": "merf", "width": width, "batch_size": cfg.train.batch_size,
                "lr": cfg.train.lr_g, "planned_steps": cfg.train.steps,
                "features": cfg.merf.features, "lengthscale": cfg.merf.lengthscale}
    return {"model": cfg.model.name, "width": width, "d_width": params.get("d_width") or width,
            "batch_size": cfg.train.batch_size, "n_critic": cfg.train.n_critic,
            "lr": cfg.train.lr_d, "planned_steps": cfg.train.steps,
            "mode_seeking": cfg.gan.mode_seeking}


def _earlier_row(path: Path, run: str) -> dict:
    """The results file's row of `run`, if any."""
    if not path.is_file():
        return {}
    return next((r for r in json.loads(path.read_text()).get("runs", []) if r["run"] == run), {})


def _no_noise() -> None:
    """Make Opacus's DPOptimizer add no noise in this process (the --clip-only diagnostic)."""
    from opacus.optimizers import DPOptimizer

    def add_noise(self) -> None:
        for p in self.params:
            p.grad = p.summed_grad.view_as(p)

    DPOptimizer.add_noise = add_noise


def _f(v, fmt: str) -> str:
    return "" if v is None else format(v, fmt)


def _recipe_note(row: dict) -> str:
    """The row's recipe where it differs from BASE (e.g. ", D width 16 (G 64), noise for 10000
    steps"); rows written before recipes were recorded say nothing."""
    rec = row.get("recipe")
    if not rec:
        return ""
    if rec.get("model") == "merf":  # one release; the G's steps are free
        return (f", {'DP-MERF' if row.get('target_epsilon') else 'MERF'} (G width {rec['width']}, {rec['features']} random features, "
                f"lengthscale {rec['lengthscale']:g}, batch {rec['batch_size']}, lr "
                f"{rec['lr']:g}, {rec['planned_steps']} G steps)")
    notes = []
    if rec.get("d_width") != rec.get("width"):
        notes.append(f"D width {rec['d_width']} (G {rec['width']})")
    if rec.get("planned_steps") != BASE["planned_steps"] and row.get("target_epsilon"):
        notes.append(f"noise for {rec['planned_steps']} steps")
    if rec.get("mode_seeking"):
        notes.append(f"mode seeking {rec['mode_seeking']:g}")
    for key, label in (("batch_size", "batch"), ("n_critic", "n_critic"), ("lr", "lr")):
        if rec.get(key) is not None and rec[key] != BASE[key]:
            notes.append(f"{label} {rec[key]:g}")
    return ", " + ", ".join(notes) if notes else ""


def table(res: dict) -> str:
    """The docs table (docs/privacy.md) from the results file: one row per run."""
    head = ("| run | kind | ε target | CPU-min used of budget | steps | CAS | FD | ε spent (δ) | σ | C_T (effect) | "
            "near-copies | MIA AUC black-box (95% CI) | white-box | TPR @ 1% FPR | copying |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in res["runs"]:
        pr, a = r.get("privacy") or {}, r["audit"]
        lo, hi = a["mia_auc_black_box_ci95"] or (None, None)
        kind = ("overfit fixture (64 images, no augmentation)" if "overfit" in r["run"] else
                "clip only, no noise (diagnostic, not private)" if r.get("clip_only") else
                "DP" if r["target_epsilon"] else "not private") + _recipe_note(r)
        eps = (f"{pr['epsilon']:.2f} ({pr['delta']:g})" if pr else "∞")
        effect = f" ({a['c_t_effect']:+.2f})" if a.get("c_t_effect") is not None else ""
        steps = r.get("steps") or pr.get("steps") or ""
        used = r.get("cpu_seconds")
        minutes = (f"{used / 60:.0f} of {r['cpu_minutes_budget']:g}" if used else
                   _f(r.get("cpu_minutes_budget"), "g"))
        out.append(
            f"| {r['run']} | {kind} | {_f(r['target_epsilon'], 'g') or '∞'} | "
            f"{minutes} | {steps} | {r['cas'] * 100:.1f}% | "
            f"{r['fd']:.1f} | {eps} | {_f(pr.get('noise_multiplier'), '.3f')} | "
            f"{a['c_t']:.1f}{effect} | {a['near_copy_fraction'] * 100:.1f}% | "
            f"{a['mia_auc_black_box']:.3f} ({_f(lo, '.3f')}-{_f(hi, '.3f')}) | "
            f"{_f(a['mia_auc_white_box'], '.3f')} | {a['tpr_at_1pct_fpr'] * 100:.1f}% | "
            f"{'yes' if a['copying'] else 'no'} |")
    for name, o in sorted(res.get("overhead", {}).items()):
        out += ["", f"DP overhead on {name}: {o['images_per_s_dp']:.0f} images/s with per-sample "
                f"gradients against {o['images_per_s_plain']:.0f} for the same model's plain "
                f"step ({o['dp_over_plain']:.2f}x), measured one after the other in one process."]
    s = res["settings"]
    out += ["", f"Settings: conditional dcgan unless the row's kind names another model, "
            f"batch {BASE['batch_size']}, n_critic "
            f"{BASE['n_critic']}, lr {BASE['lr']:g}, noise planned for {BASE['planned_steps']} "
            f"steps, D as wide as G unless the row's kind says otherwise; clip C "
            f"{s['clip']:g}, {s['accountant']} accountant; CAS on {s['n_synth']:,} synthetic images, {s['cas_epochs']} "
            f"epochs; audit on {s['n_audit']:,} samples, MIA on {s['n_mia']:,} members (or all of "
            f"them, 64 for the fixture) and as many non-members; {s['threads']} thread per "
            f"process.", "",
            "Made by: " + "; ".join(f"`{c}`" for c in res["commands"])]
    return "\n".join(out) + "\n"


def _write(results: dict, path: Path, work: Path | None = None) -> None:
    """Merge this process's rows into the results file (rows keyed by run name, overhead by data
    set), under a lock: several processes (one per ε, each on its own core) share one file.
    Rows written before rows recorded their recipe get it from their run folder's config.yaml
    under `work`, while that folder exists."""
    import fcntl

    from pixelforge.metrics.report import _clean  # non-finite floats -> null

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = json.loads(path.read_text()) if path.exists() else {}
        rows = {r["run"]: r for r in old.get("runs", [])}
        rows.update({r["run"]: r for r in results["runs"]})
        for name, row in rows.items():
            if "recipe" not in row and work and (work / name / "config.yaml").is_file():
                from pixelforge.config import load_config

                row["recipe"] = recipe_of(load_config(work / name / "config.yaml"))
        merged = {**old, **{k: v for k, v in results.items() if k != "runs"},
                  "runs": sorted(rows.values(), key=lambda r: r["run"])}
        merged["overhead"] = {**old.get("overhead", {}), **results.get("overhead", {})}
        commands = old.get("commands", [])
        merged["commands"] = commands + [c for c in results["commands"] if c not in commands]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_clean(merged), indent=2, default=str) + "\n")
        tmp.replace(path)
    path.with_suffix(".lock").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
