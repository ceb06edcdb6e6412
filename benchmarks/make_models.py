"""Train the restoration models shipped in the package and copy them into
src/pixelforge/assets/models/<name>/ with a MODEL_CARD.md (`make models`).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/make_models.py            # train + ship all
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/make_models.py --no-train # ship existing runs
    .venv/bin/python benchmarks/make_models.py --cards-only --results benchmarks/results/restoration.json

Each model is trained by the one Trainer from its shipped recipe restoration/<name> (a CPU-minute
budget at one thread, `train.budget_clock: cpu`) into runs/models/<recipe>/; only the exported
network (model_index.json + <component>/config.json + model.safetensors) is shipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pixelforge.configs import find

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "src" / "pixelforge" / "assets" / "models"
RUNS = ROOT / "runs" / "models"
MAX_BYTES = 5 * 1024 * 1024
# shipped name -> (recipe, what it does, benchmark rows that go into its card)
SHIPPED = {
    "denoise-blind": ("denoise_blind", "blind denoising: Gaussian noise sigma 0-50, JPEG q 30-95, "
                      "mild blur", "denoise"),
    "upscale-x2": ("upscale_x2", "x2 super-resolution (L1)", "upscale-x2"),
    "upscale-x4": ("upscale_x4", "x4 super-resolution (L1)", "upscale-x4"),
    "inpaint": ("inpaint", "inpainting of free-form holes (white = hole)", "inpaint"),
    "upscale-x4-photo": ("upscale_x4_photo", "x4 super-resolution of real photos (Real-ESRGAN-"
                         "style degradations; L1 + perceptual + PatchGAN)", "upscale-x4"),
    "colorize": ("photos_colorize_chroma", "colourisation of black-and-white photos and gray "
                 "scans: chroma only, the input's luma kept exactly (L1 + PatchGAN)",
                 "colorize"),
}
# recipes outside configs/restoration, and the results file their card's metrics come from
CONFIG_GROUP = {"photos_colorize_chroma": "translation"}
COLORIZE_RESULTS = ROOT / "benchmarks" / "results" / "colorize.json"
# trained after the shipped ones for benchmarks/restoration.py, not shipped: the non-blind
# sigma-25 denoiser (the blind model's reference) and the GAN fine-tune of upscale-x4
REFERENCE = ("denoise_sigma25", "upscale_x4_gan")
PHOTOS_README = "../shared/data/photos/README.md"


# recipes trained in stages of their train.time_budget (the first run, then --resume), each
# stage with its own extra options, and on the larger photo set of benchmarks/make_photo_set.py
# rather than the recipe's photos/train. The colouriser: the recipe's L1 weight (100, pix2pix's)
# for the first 40 CPU-minutes, then 25 so the adversarial term can bring the colour back (it
# scored 0.56 of the real photos' colourfulness after stage 1), 70 CPU-minutes more.
# The blind denoiser: 40 + 40 + 15 CPU-minutes of the recipe as it is (the third stage was cut
# to 15 to leave the machine quiet for the benchmarks), then 25 at a fifth of the learning rate
# (a step decay: +0.07 dB at sigma 15, +0.11 at 25; the shipped fourth stage ran at 2 threads,
# 10,932 steps for its 25 CPU-minutes).
LAMBDA_25 = ["--translation.lambda_l1", "25"]
STAGES = {"upscale_x4_photo": [[], [], []],
          "photos_colorize_chroma": [[], LAMBDA_25, [*LAMBDA_25, "--train.time_budget", "30"]],
          "denoise_blind": [[], [], ["--train.time_budget", "15"],
                            ["--train.time_budget", "25", "--train.lr_g", "1e-4"]]}
ON_PHOTO_SET = {"upscale_x4_photo", "photos_colorize_chroma", "denoise_blind"}
# threads per stage where a stage did not run at one (the budget is CPU time either way, but a
# 2-thread step costs more CPU than a 1-thread one)
STAGE_THREADS = {"denoise_blind": [1, 1, 1, 2]}


def config_name(recipe: str) -> str:
    """The recipe's name as `--config` takes it (restoration/ unless CONFIG_GROUP says)."""
    return f"{CONFIG_GROUP.get(recipe, 'restoration')}/{recipe}"


def train(recipe: str) -> Path:
    """Train one recipe into runs/models/<recipe> (a fresh run: an old one is removed first),
    in STAGES[recipe] invocations of its budget."""
    out = RUNS / recipe
    if out.exists():
        shutil.rmtree(out)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [str(Path(sys.executable).parent / "pixelforge"), "train", "--config",
           config_name(recipe), "--out", str(out), "--quiet"]
    if recipe in ON_PHOTO_SET:
        from make_photo_set import default_out  # benchmarks/make_photo_set.py, next to this one

        photos = default_out() / "train"
        if not photos.is_dir():
            raise SystemExit(f"{recipe} trains on the photo set: build it first with "
                             "benchmarks/make_photo_set.py")
        cmd += ["--data", str(photos)]
    for stage, extra in enumerate(STAGES.get(recipe, [[]])):
        args = cmd + ["--resume"] * bool(stage) + extra
        print("+", " ".join(args), flush=True)
        subprocess.run(args, cwd=ROOT, env=env, check=True)
    return out


def ship(name: str, run: Path, cpu_minutes: float | None = None) -> Path:
    """Copy the run's latest exported network (no training state) into the package, atomically."""
    from pixelforge.checkpoint import latest_checkpoint

    ckpt = latest_checkpoint(run)
    if ckpt is None:
        raise SystemExit(f"{run}: no checkpoint; train it first")
    index = json.loads((ckpt / "model_index.json").read_text())
    dest, tmp = SHIPPED_DIR / name, SHIPPED_DIR / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(ckpt / "model_index.json", tmp / "model_index.json")
    for comp in index["components"].values():
        shutil.copytree(ckpt / comp, tmp / comp)
    for f in tmp.rglob("*"):  # package data: readable by everyone (atomic writes make 0600)
        f.chmod(0o755 if f.is_dir() else 0o644)
    size = sum(f.stat().st_size for f in tmp.rglob("*.safetensors"))
    if size > MAX_BYTES:
        raise SystemExit(f"{name}: {size} bytes of safetensors, over the 5 MB limit")
    meta = json.loads((ckpt / "meta.json").read_text())
    # every `pixelforge train` invocation (the first and each --resume) opens one event file
    stages = max(1, len(list((run / "tensorboard").glob("events.out.tfevents.*"))))
    (tmp / "training.json").write_text(json.dumps(
        {**{k: meta[k] for k in ("step", "images_seen", "train_seconds", "pixelforge_version",
                                 "precision")},
         "data": meta["data"].replace(str(Path.home()), "~"), "stages": stages,
         **({"cpu_minutes": cpu_minutes} if cpu_minutes else {})}, indent=2) + "\n")
    (tmp / "training.json").chmod(0o644)
    if (dest / "MODEL_CARD.md").is_file():
        shutil.copy2(dest / "MODEL_CARD.md", tmp / "MODEL_CARD.md")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    print(f"shipped {name}: {ckpt} -> {dest} ({size / 1e6:.2f} MB)", flush=True)
    return dest


def data_text(training: dict, group: str = "") -> str:
    """The card's data and licence lines, from the run's own description of its data."""
    described = training.get("data", "")
    inputs = ("random crops whose BT.601 luma is the input and whose colour is the target"
              if group == "colorize" else "seeded random crops degraded on the fly")
    if "photo_set" in described:  # benchmarks/make_photo_set.py's cache
        n = described.split(" ", 1)[0]
        return (f"the training photo set: {n} natural photographs built by "
                "`benchmarks/make_photo_set.py` (Debian packages' photos plus the shared "
                f"`photos/train`), {inputs}. None of the test "
                "photos, nor the packages reserved for evaluation, was used.\n"
                "- **Licence of the training data:** free licences per file (public domain, "
                "CC0, CC-BY and CC-BY-SA, GPL, LGPL, BSD, Apache-2.0, Expat); the script's "
                "manifest records each file's licence and author, and docs/restoration.md "
                "(\"Training photo set\") counts them per source.")
    return (f"`photos/train` of the shared data (99 natural photographs, long side <= 768 px; "
            f"sources and per-file licences in {PHOTOS_README}): seeded random crops, degraded "
            "on the fly (pixelforge/data/degraded_photos.py). None of the test photos was used.\n"
            "- **Licence of the training data:** public domain, CC0-1.0, CC-BY-2.0/3.0, "
            "CC-BY-SA-4.0, GPL-2+ and LGPL-3.0 photos (the per-file table, with authors for "
            "attribution, is in the photos README).")


def budget_text(budget, training: dict, recipe: str = "") -> str:
    """Steps, crops and CPU time; a run trained in stages (--resume) says how many, and at how
    many threads each (STAGE_THREADS)."""
    stages = training.get("stages", 1)
    if training.get("cpu_minutes"):
        cpu = f"{training['cpu_minutes']:g} CPU-minutes in {stages} stage(s)"
    elif stages > 1:
        cpu = f"{stages} stages of `train.time_budget: {budget}` CPU-minutes"
    else:
        cpu = f"`train.time_budget: {budget}` CPU-minutes"
    threads = STAGE_THREADS.get(recipe)
    at = ("at one thread" if not threads else "at " + ", ".join(
        f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " (stage by stage)")
    return (f"{cpu} {at} (`budget_clock: cpu`): {training['step']} steps, "
            f"{training['images_seen']} training crops.")


def stages_text(recipe: str) -> str:
    """The card's line on options that differ between stages (STAGES), if any."""
    stages = STAGES.get(recipe, [[]])
    if not any(stages):
        return ""
    parts = [f"{i + 1}: " + (f"`{' '.join(extra)}`" if extra else "the recipe as below")
             for i, extra in enumerate(stages)]
    return "\n- **Stages** (`--resume` from the second; benchmarks/make_models.py): " + \
        "; ".join(parts) + "."


def gain_text(index: dict) -> str:
    """The card's line on a colouriser's fitted chroma gain (model_index.json), if any."""
    fit = index.get("colorize") or {}
    if "chroma_gain" not in fit:
        return ""
    return (f"- **Chroma gain:** {fit['chroma_gain']:g}, multiplied into the predicted chroma "
            f"(`--chroma-gain` overrides it): fitted on {fit.get('fitted_on', 'training photos')} "
            f"(colourfulness {fit.get('colourfulness_at_gain_1')} at gain 1, "
            f"{fit.get('colourfulness_train')} in the photos) by `benchmarks/translation.py "
            "fit-gain`; never on test photos.\n")


def usage(name: str, index: dict, kind: str, scale: str) -> str:
    """How a user reaches the model: the verb's default, or by name."""
    from pixelforge.pipelines.restore import SHIPPED as DEFAULTS

    if kind == "colorize":
        return ("`pixelforge colorize` uses this model when no `--model RUN` is given; in Python "
                "`pixelforge.pipelines.colorize.load_colorizer()`, and the studio's Restore page "
                "lists it.")
    if name in DEFAULTS.values():
        return (f"`pixelforge {index['pipeline']}` uses this model when no `--model RUN` is "
                f"given; in Python `pixelforge.pipelines.restore.load_restorer(\"{kind}\""
                f"{scale})`.")
    return (f"`pixelforge {index['pipeline']} --model {name}` uses this model (it is not the "
            f"default); in Python `pixelforge.pipelines.restore.load_restorer(\"{kind}\", "
            f"\"{name}\")`.")


def write_card(name: str, results: dict | None) -> None:
    recipe, what, group = SHIPPED[name]
    folder = SHIPPED_DIR / name
    training = json.loads((folder / "training.json").read_text())
    index = json.loads((folder / "model_index.json").read_text())
    comp = next(iter(index["components"].values()))
    cfg = json.loads((folder / comp / "config.json").read_text())
    size = sum(f.stat().st_size for f in folder.rglob("*.safetensors"))
    recipe_text = find(config_name(recipe)).read_text().rstrip()
    if group == "colorize":
        bench, metrics = "benchmarks/translation.py", colorize_metrics()
    else:
        bench, metrics = "benchmarks/restoration.py", restoration_metrics(group, results)
    import yaml

    budget = yaml.safe_load(recipe_text)["train"].get("time_budget")
    kind = index["kind"]
    scale = f", scale={cfg['scale']}" if kind == "upscale" else ""
    params = json.dumps({k: v for k, v in cfg.items() if k != "_pixelforge"})
    card = f"""# {name}: {what}

{usage(name, index, kind, scale)} Fine-tune it on your own photos
with `pixelforge train --config {config_name(recipe)} --init {name} --data DIR`.

- **Network:** `{index['model']}` component `{comp}`, {params}; {size / 1e6:.2f} MB of
  safetensors (fp32).
- **Data:** {data_text(training, group)}
- **Budget:** {budget_text(budget, training, recipe)} Precision: {training['precision']}.{stages_text(recipe)}
{gain_text(index)}- **Reproduce:** `make models` (benchmarks/make_models.py) with the recipe below.

## Metrics (held-out photos/test, {bench})

{metrics}

## Recipe (`--config {config_name(recipe)}`)

```yaml
{recipe_text}
```
"""
    (folder / "MODEL_CARD.md").write_text(card)
    print(f"wrote {folder / 'MODEL_CARD.md'}")


def restoration_metrics(group: str, results: dict | None) -> str:
    """The card's metrics: the restoration benchmark's rows of this model's group."""
    rows = [r for r in (results or {}).get("rows", []) if r.get("group") == group]
    if not rows:
        return ("Not measured yet: run `benchmarks/restoration.py` (docs/benchmarks.md, "
                "\"Restoration\").")
    from md_tables import pivot  # benchmarks/md_tables.py, next to this script

    return pivot(rows) + "\nProtocol: " + json.dumps((results or {}).get("protocol", {}))


COLOURISATION_ROWS = {"chroma_unet": "this model", "gray_input": "gray input shown as RGB",
                      "luma_chroma_lookup": "per-luma mean chroma lookup",
                      "reinhard": "Reinhard et al. 2001 colour transfer"}


def colorize_metrics() -> str:
    """The card's metrics: the colourisation rows of benchmarks/results/colorize.json."""
    if not COLORIZE_RESULTS.is_file():
        return ("Not measured yet: run `benchmarks/translation.py score colorize_chroma --run "
                "src/pixelforge/assets/models/colorize --size 128 --json "
                "benchmarks/results/colorize.json`.")
    r = json.loads(COLORIZE_RESULTS.read_text())
    lines = ["| method | FD | KID | photo FD | colourfulness (real) | luma exact | PSNR | SSIM |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, label in COLOURISATION_ROWS.items():
        m = r[key]
        lines.append(f"| {label} | {m['fd']:.2f} | {m['kid']:.3f} | {m['photo_fd']:.2f} | "
                     f"{m['colourfulness']:.1f} ({m['colourfulness_real']:.1f}) | "
                     f"{m['luma_exact'] * 100:.1f}% | {m['psnr']:.2f} | {m['ssim']:.3f} |")
    return ("\n".join(lines) + f"\n\n{r['n_test_crops']} seeded random {r['size']} px crops of "
            "the test photos. FD and KID in the features of a `cnn` extractor trained on crops of "
            "the shared photos/train; photo FD is the shipped photo judge's. Command: "
            f"`{r['command']}`.")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-train", action="store_true", help="ship the existing runs/models runs")
    p.add_argument("--cards-only", action="store_true", help="only (re)write the model cards")
    p.add_argument("--results", type=Path, help="benchmarks/restoration.py --json output")
    p.add_argument("--shipped-only", action="store_true",
                   help=f"do not train the reference models ({', '.join(REFERENCE)})")
    p.add_argument("--cpu-minutes", type=float, default=None,
                   help="with --no-train: the CPU-minutes the named run trained for, over all its "
                   "stages (when they differ from the recipe's budget), for its card")
    p.add_argument("--run", type=Path, default=None,
                   help="with --no-train and one name: ship this run folder instead of "
                   "runs/models/<recipe>")
    p.add_argument("names", nargs="*", default=list(SHIPPED), help="which models")
    args = p.parse_args(argv)
    results = json.loads(args.results.read_text()) if args.results else None
    for name in args.names:
        recipe = SHIPPED[name][0]
        if not args.cards_only:
            run = (args.run or RUNS / recipe) if args.no_train else train(recipe)
            ship(name, run, args.cpu_minutes)
        write_card(name, results)
    if not (args.cards_only or args.no_train or args.shipped_only):
        for recipe in REFERENCE:  # the GAN fine-tune starts from the shipped upscale-x4
            train(recipe)


if __name__ == "__main__":
    main()
