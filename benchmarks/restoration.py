"""Restoration benchmark: each trained model against its classical baselines on the same seeded
crops of the held-out photos/test, plus tiling, memory, speed and bf16 checks.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/restoration.py --json benchmarks/results/restoration.json
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/restoration.py --only upscale --n 8   # a subset

Protocol: one seeded 256 px crop per test photo (metrics.restoration_eval.eval_crops, seed 0);
image i degraded with seed item_seed(0, i) (data/degradations.py), inputs rounded to 8 bits; PSNR/SSIM
on 8-bit outputs (SR: BT.601 Y with `scale` px border cropped, and RGB; inpainting: inside the
hole and on the whole image; `block_ratio`, 2^k-px grid energy in the hole over the truth's,
metrics/block_artefacts.py); FD in `cnn` features of 32 px patches (metrics/restoration_fd.py);
`photo_fd`, FD in the shipped judge's features of 32 px patches (metrics/photo_judge.py).
Models: the shipped ones (src/pixelforge/assets/models) plus runs/models/denoise_sigma25,
runs/models/upscale_x4_gan and (until it ships) runs/models/upscale_x4_photo when present. x4
is also scored on "real-degraded" crops: the realistic chain (data/realistic.py), seed
item_seed(0, i). Everything runs at one thread.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from md_tables import pivot  # benchmarks/md_tables.py, next to this script

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"
RUNS = ROOT / "runs" / "models"
DOC_IMAGES = ROOT / "docs" / "images"
SEED, CROP = 0, 256


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, n: int | None, fd: bool, photo_fd: bool = True) -> None:
        from pixelforge.metrics.restoration_eval import eval_crops

        self.crops = [c[None] for c in eval_crops(PHOTOS / "test", n=n, size=CROP, seed=SEED)]
        self.rows: list[dict] = []
        self.part = ""  # which --only part made a row (a later run of that part replaces them)
        self.extractor, self.photo_fd = None, photo_fd
        if fd:
            from pixelforge.metrics.restoration_fd import photo_extractor

            self.extractor = photo_extractor(PHOTOS / "train")

    def add(self, group: str, setting: str, method: str, metric: str, value) -> None:
        self.rows.append({"group": group, "setting": setting, "method": method, "metric": metric,
                          "value": value, "part": self.part})

    def score(self, group: str, setting: str, method: str, outs, targets, *, kind: str,
              scale: int = 1, masks=None, seconds: float | None = None) -> dict:
        """Mean PSNR/SSIM (+ FD, megapixels/s) of outputs against targets, recorded as rows."""
        from pixelforge.metrics.restoration import restoration_scores
        from pixelforge.metrics.restoration_fd import patch_fd

        sums: dict[str, float] = {}
        for i, (o, t) in enumerate(zip(outs, targets, strict=True)):
            m = masks[i] if masks is not None else None
            for k, v in restoration_scores(o, t, kind=kind, scale=scale, mask=m).items():
                sums[k] = sums.get(k, 0.0) + v / len(outs)
        if self.extractor is not None:
            sums["fd_cnn"] = patch_fd(self.extractor, outs, targets, masks)
        if self.photo_fd:
            from pixelforge.metrics.photo_judge import photo_fd

            sums["photo_fd"] = photo_fd(outs, targets, masks)
        if seconds is not None:
            sums["megapixels_per_s"] = sum(o.shape[-1] * o.shape[-2] for o in outs) / 1e6 / seconds
        for k, v in sums.items():
            self.add(group, setting, method, k, v)
        log(f"{group} {setting} {method}: " + ", ".join(f"{k} {v:.3f}" for k, v in sums.items()))
        return sums


def bm3d_cached(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """classical.bm3d_denoise, its output kept in the metric cache (bm3d/, keyed by a hash of the
    8-bit input and sigma): BM3D is deterministic and ~250x slower than the networks, so a rerun
    of the denoise part with a new model reuses it. The first run's seconds are BM3D's own; a
    cached run records none (its speed column is left empty)."""
    import hashlib

    from pixelforge.baselines import classical as cl
    from pixelforge.metrics.paths import cache_root

    levels = ((x.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    key = hashlib.sha256(levels.tobytes() + str(levels.shape).encode() + f"{sigma:g}".encode())
    path = cache_root() / "bm3d" / f"{key.hexdigest()[:32]}.npy"
    if path.is_file():
        return torch.from_numpy(np.load(path))
    out = cl.bm3d_denoise(x, sigma)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out.numpy())
    tmp.replace(path)
    return out


def _timed(fn, inputs):
    outs, t = [], time.perf_counter()
    for args in inputs:
        outs.append(fn(*args).float().clamp(-1, 1))
    return outs, time.perf_counter() - t


def _pipe(kind: str, path: Path | None = None, scale: int | None = None):
    from pixelforge.pipelines.restore import load_restorer

    return load_restorer(kind, path, scale=scale)


def bench_denoise(b: Bench, bm3d_n: int, runs: list[Path] | None = None) -> None:
    """Every denoiser (the shipped blind model, the sigma-25 reference run if trained, and
    `runs`, each a row "model <folder name>") against NL-means, blur and BM3D."""
    from pixelforge.baselines import classical as cl
    from pixelforge.data.degradations import item_seed, restoration_pair

    models = {"blind model": _pipe("denoise")}
    if (RUNS / "denoise_sigma25").is_dir():
        models["sigma-25 model"] = _pipe("denoise", RUNS / "denoise_sigma25")
    for run in runs or []:
        models[f"model {run.name}"] = _pipe("denoise", run)
    for spec in ("noise:15", "noise:25", "noise:50", "jpeg:30"):
        pairs = [restoration_pair(c, spec, item_seed(SEED, i), quantize=True)
                 for i, c in enumerate(b.crops)]
        targets, inputs = [p["target"] for p in pairs], [(p["input"],) for p in pairs]
        b.score("denoise", spec, "input (no restoration)", [x for (x,) in inputs], targets,
                kind="denoise")
        for name, pipe in models.items():
            if name.startswith("sigma") and spec != "noise:25":
                continue
            outs, sec = _timed(lambda x, p=pipe: p.denoise(x, precision="fp32"), inputs)
            b.score("denoise", spec, name, outs, targets, kind="denoise", seconds=sec)
        sigma = float(spec.split(":")[1]) if spec.startswith("noise") else None
        h = cl.nlmeans_h(sigma) if sigma else JPEG_NLMEANS_H
        outs, sec = _timed(lambda x, h=h: cl.nlmeans(x, h=h), inputs)
        b.score("denoise", spec, f"NL-means (h {h:g})", outs, targets, kind="denoise", seconds=sec)
        blur_sigma = sigma if sigma else 15.0
        outs, sec = _timed(lambda x, s=blur_sigma: cl.gaussian_denoise(x, s), inputs)
        b.score("denoise", spec, "Gaussian blur", outs, targets, kind="denoise", seconds=sec)
        bm3d_sigma = sigma or JPEG_BM3D_SIGMA
        if bm3d_sigma and bm3d_n:
            outs, sec = _timed(lambda x, s=bm3d_sigma: bm3d_cached(x, s), inputs[:bm3d_n])
            if sec < 0.05 * len(outs):  # read from the cache: no speed figure
                sec = None
            label = "BM3D" + ("" if sigma else f" (sigma {bm3d_sigma:g}, tuned)")
            if len(outs) == len(inputs):  # every crop: the rows above are the comparison
                b.score("denoise", spec, label, outs, targets, kind="denoise", seconds=sec)
                continue
            b.score("denoise", spec, f"{label} (first {len(outs)})", outs, targets[:bm3d_n],
                    kind="denoise", seconds=sec)
            for name, pipe in models.items():
                if name.startswith("sigma") and spec != "noise:25":
                    continue
                outs, _ = _timed(lambda x, p=pipe: p.denoise(x, precision="fp32"),
                                 inputs[:bm3d_n])
                b.score("denoise", spec, f"{name} (first {len(outs)})", outs, targets[:bm3d_n],
                        kind="denoise")


# NL-means h and BM3D sigma for JPEG q30 artefacts (no noise sigma to tie them to): picked by
# --tune-jpeg on 30 seeded 128 px photos/train crops (h 3.0: 32.14 dB; 6.0: 31.55; 10: 30.39;
# BM3D sigma 7: 32.37, 10: 32.57, 14: 32.69, 18: 32.67, 24: 32.44)
JPEG_NLMEANS_H = 3.0
JPEG_BM3D_SIGMA = 14.0


def tune_jpeg_h() -> dict[str, float]:
    """The classical denoisers' strength for JPEG q30 artefacts (no noise sigma to tie it to):
    NL-means h and BM3D's sigma, each the best mean PSNR on 30 seeded 128 px photos/train crops."""
    from pixelforge.baselines import classical as cl
    from pixelforge.data.degradations import item_seed, restoration_pair
    from pixelforge.metrics.restoration import psnr
    from pixelforge.metrics.restoration_eval import eval_crops

    crops = [c[None] for c in eval_crops(PHOTOS / "train", n=30, size=128, seed=1)]
    pairs = [restoration_pair(c, "jpeg:30", item_seed(1, i), quantize=True)
             for i, c in enumerate(crops)]
    picked = {}
    for name, run, values in (("nlmeans_h", lambda x, v: cl.nlmeans(x, h=v),
                               (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)),
                              ("bm3d_sigma", cl.bm3d_denoise,
                               (3.0, 5.0, 7.0, 10.0, 14.0, 18.0, 24.0))):
        best = {}
        for v in values:
            best[v] = sum(float(psnr(run(p["input"], v), p["target"]).mean())
                          for p in pairs) / len(pairs)
            log(f"jpeg:30 {name} {v}: {best[v]:.3f} dB")
        picked[name] = max(best, key=best.get)
    return picked


PHOTO_MODEL = "upscale-x4-photo"  # the sharp x4 (issue 20): shipped, or its run while training


def upscale_models(scale: int, photo_run: Path | None = None) -> dict:
    """The x`scale` upscalers to score: the shipped PSNR model, the GAN fine-tune run and (x4)
    the photo model: photo_run, else the shipped one, else runs/models/upscale_x4_photo."""
    from pixelforge.pipelines.restore import shipped_models

    models = {"L1 model": _pipe("upscale", None, scale)}
    gan = RUNS / f"upscale_x{scale}_gan"
    if gan.is_dir():
        models["GAN fine-tune"] = _pipe("upscale", gan, scale)
    if scale == 4:
        photo = photo_run or shipped_models("upscale").get(PHOTO_MODEL,
                                                             RUNS / "upscale_x4_photo")
        if photo.is_dir():
            models["photo model"] = _pipe("upscale", photo, scale)
    return models


def bench_upscale(b: Bench, scale: int, photo_run: Path | None = None) -> None:
    """Bicubic-downscaled crops, and (x4) "real-degraded" ones: the realistic chain
    (data/realistic.py) with the fixed seeds item_seed(SEED, i), what a real photo goes through."""
    from pixelforge.baselines import classical as cl
    from pixelforge.data.degradations import item_seed, restoration_pair

    group = f"upscale-x{scale}"
    models = upscale_models(scale, photo_run)
    specs = [f"bicubic:{scale}"] + ([f"realistic:{scale}"] if scale == 4 else [])
    for spec in specs:
        setting = spec if spec.startswith("bicubic") else f"real-degraded ({spec})"
        pairs = [restoration_pair(c, spec, item_seed(SEED, i), quantize=True)
                 for i, c in enumerate(b.crops)]
        targets, inputs = [p["target"] for p in pairs], [(p["input"],) for p in pairs]
        for name, pipe in models.items():
            outs, sec = _timed(lambda x, p=pipe: p.upscale(x, precision="fp32"), inputs)
            b.score(group, setting, name, outs, targets, kind="upscale", scale=scale,
                    seconds=sec)
            if name == "L1 model" and spec.startswith("bicubic"):
                tiled, _ = _timed(lambda x, p=pipe: p.upscale(x, tile=24, tile_pad=16,
                                                              precision="fp32"), inputs[:4])
                diff = max(float((t - o).abs().max()) / 2
                           for t, o in zip(tiled, outs, strict=False))
                b.add(group, "tile 24, pad 16 vs whole image", name, "max_abs_diff_01", diff)
        for name, fn in (("bicubic (PIL)", cl.upscale_bicubic),
                         ("Lanczos (PIL)", cl.upscale_lanczos)):
            outs, sec = _timed(lambda x, f=fn: f(x, scale), inputs)
            b.score(group, setting, name, outs, targets, kind="upscale", scale=scale,
                    seconds=sec)


def bench_inpaint(b: Bench, runs: list[Path] | None = None) -> None:
    """Every inpainter and classical fill on the thin/medium/thick protocols and the wide
    "boxes + strokes 15-40%" masks (wide15_40), each row with its block-artefact ratio
    (metrics/block_artefacts.py: 2^k-px grid energy in the hole over the truth's); `runs`
    (--inpaint-run) are scored beside the shipped model, as "model <folder name>"."""
    from pixelforge.baselines import classical as cl
    from pixelforge.data.degradations import item_seed
    from pixelforge.data.masks import random_mask
    from pixelforge.metrics.block_artefacts import block_artefact_ratio
    from pixelforge.models.inpaint_unet import harmonic_fill

    pipe = _pipe("inpaint")
    extra = [(f"model {r.name}", _pipe("inpaint", r)) for r in runs or []]
    for protocol in ("thin", "medium", "thick", "wide15_40"):
        masks = [random_mask(protocol, c.shape[-2], c.shape[-1], seed=item_seed(SEED, i))[None]
                 for i, c in enumerate(b.crops)]
        inputs = [(c * (1 - m), m) for c, m in zip(b.crops, masks, strict=True)]
        ratio = sum(float(m.mean()) for m in masks) / len(masks)
        b.add("inpaint", protocol, "masks", "hole_ratio", ratio)
        # the shipped model's starting point (a classical membrane fill) is scored too, so the
        # table shows what the network adds on top of it
        harmonic = lambda x, m: x * (1 - m) + harmonic_fill(x, m) * m  # noqa: E731
        models = [(n, lambda x, m, p=p: p.inpaint(x, m, precision="fp32"))
                  for n, p in [("model", pipe), *extra]]
        for name, fn in (*models, ("harmonic fill", harmonic),
                         ("Telea", cl.inpaint_telea), ("Navier-Stokes", cl.inpaint_ns)):
            outs, sec = _timed(fn, inputs)
            b.score("inpaint", protocol, name, outs, b.crops, kind="inpaint", masks=masks,
                    seconds=sec)
            b.add("inpaint", protocol, name, "block_ratio",
                  block_artefact_ratio(outs, b.crops, masks))


def conv_peak_gflops(seconds: float = 2.0) -> float:
    """The machine's bf16 conv throughput at one thread: a 64->64 3x3 conv on 128x128,
    channels_last, under autocast (the best case the models' convs can reach)."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(4, 64, 128, 128).to(memory_format=torch.channels_last)
    flops = 2 * 64 * 64 * 9 * 4 * 128 * 128
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        conv(x)
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            conv(x)
            n += 1
    return flops * n / (time.perf_counter() - t) / 1e9


def bench_speed(b: Bench) -> None:
    """Megapixels/s fp32 vs bf16, achieved GFLOP/s as a fraction of the conv peak measured now,
    and the PSNR change bf16 brings, on the first 4 crops."""
    from torch.utils.flop_counter import FlopCounterMode

    from pixelforge.core.precision import cpu_has_fast_bf16
    from pixelforge.data.degradations import item_seed, restoration_pair
    from pixelforge.data.masks import random_mask
    from pixelforge.metrics.restoration import psnr

    peak = conv_peak_gflops()
    b.add("speed", "bf16 conv peak (64->64 3x3, 1 thread)", "machine", "gflops", peak)
    b.add("speed", "cpu_has_fast_bf16", "machine", "value", str(cpu_has_fast_bf16()))
    crops = b.crops[:4]
    from pixelforge.core.images import to_gray
    from pixelforge.pipelines.colorize import load_colorizer
    from pixelforge.pipelines.restore import SHIPPED_DIR

    # every shipped model (pipelines/restore.SHIPPED_MODELS), each on its own degradation
    cases = {"denoise": (_pipe("denoise"), "noise:25"),
             "upscale-x2": (_pipe("upscale", None, 2), "bicubic:2"),
             "upscale-x4": (_pipe("upscale", None, 4), "bicubic:4"),
             "upscale-x4-photo": (_pipe("upscale", SHIPPED_DIR / "upscale-x4-photo", 4),
                                  "realistic:4"),
             "inpaint": (_pipe("inpaint"), "medium"),
             "colorize": (load_colorizer(), "gray")}
    for group, (pipe, spec) in cases.items():
        if group == "colorize":  # the network sees the luma; PSNR against the colour crop
            inputs, targets = [(to_gray(c),) for c in crops], crops
            run, model_args = pipe.colorize, [(pipe.model, inputs[0])]
        elif group == "inpaint":
            ms = [random_mask(spec, CROP, CROP, seed=item_seed(SEED, i))[None]
                  for i in range(len(crops))]
            inputs = [(c * (1 - m), m) for c, m in zip(crops, ms, strict=True)]
            targets = crops
            run = pipe.inpaint
        else:
            pairs = [restoration_pair(c, spec, item_seed(SEED, i), quantize=True)
                     for i, c in enumerate(crops)]
            inputs, targets = [(p["input"],) for p in pairs], [p["target"] for p in pairs]
            run = pipe.denoise if group == "denoise" else pipe.upscale
        if group != "colorize":
            model_args = [(pipe.model, inputs[0])]
        with FlopCounterMode(display=False) as fc:
            with torch.no_grad():
                for net, args in model_args:
                    net(*args)
        flops = fc.get_total_flops() * len(inputs)
        res = {}
        for prec in ("fp32", "bf16"):
            run(*inputs[0], precision=prec)  # warm-up
            outs, sec = _timed(lambda *a, p=prec, r=run: r(*a, precision=p), inputs)
            mp = sum(o.shape[-1] * o.shape[-2] for o in outs) / 1e6 / sec
            res[prec] = outs
            b.add("speed", group, prec, "megapixels_per_s", mp)
            b.add("speed", group, prec, "gflops", flops / sec / 1e9)
            b.add("speed", group, prec, "fraction_of_bf16_conv_peak", flops / sec / 1e9 / peak)
        m = None if group != "inpaint" else [i[1] for i in inputs]
        dpsnr = [float(psnr(a, t, mask=m[i] if m else None) - psnr(f, t, mask=m[i] if m else None))
                 for i, (a, f, t) in enumerate(zip(res["bf16"], res["fp32"], targets,
                                                   strict=True))]
        b.add("speed", group, "bf16 - fp32", "psnr_db", sum(dpsnr) / len(dpsnr))
        log(f"speed {group}: done")


RSS_SCRIPT = """
import resource, sys, time, torch
torch.set_num_threads(1)
from pixelforge.pipelines.restore import load_restorer
pipe = load_restorer("upscale", None, scale=4)
x = torch.rand(1, 3, {lr}, {lr}, generator=torch.Generator().manual_seed(0)) * 2 - 1
t = time.perf_counter()
y = pipe.upscale(x, tile=256, tile_pad=16)
print(tuple(y.shape), time.perf_counter() - t,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2)
"""


def bench_rss(b: Bench, lr: int = 1024) -> None:
    """Peak RSS of a tiled x4 run to a 4096 x 4096 output, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT.format(lr=lr)], capture_output=True,
                         text=True, check=True).stdout.split()
    shape, seconds, gib = " ".join(out[:-2]), float(out[-2]), float(out[-1])
    setting = f"tiled x4 to {lr * 4}x{lr * 4} (tile 256, pad 16, auto precision)"
    b.add("memory", setting, "L1 model", "peak_rss_gib", gib)
    b.add("memory", setting, "L1 model", "seconds", seconds)
    log(f"rss: {shape} {seconds:.1f} s, {gib:.2f} GiB")


def example_images(photo_run: Path | None = None, inpaint_runs: list[Path] | None = None) -> None:
    """Small before/after PNGs for docs/restoration.md (crop 0 of photos/test's eval set)."""
    from pixelforge.baselines import classical as cl
    from pixelforge.core.images import save_grid
    from pixelforge.data.degradations import item_seed, restoration_pair
    from pixelforge.data.masks import random_mask
    from pixelforge.metrics.restoration_eval import eval_crops

    DOC_IMAGES.mkdir(parents=True, exist_ok=True)
    crops = [c[None] for c in eval_crops(PHOTOS / "test", size=128, seed=SEED)]
    c = max(crops, key=lambda t: float((t[..., 1:, :] - t[..., :-1, :]).abs().mean()))  # most detail
    noisy = restoration_pair(c, "noise:25", item_seed(SEED, 0), quantize=True)["input"]
    row = [noisy, cl.nlmeans(noisy, 25.0), _pipe("denoise").denoise(noisy), c]
    save_grid(torch.cat(row), DOC_IMAGES / "restoration_denoise.png", nrow=4)
    lr = restoration_pair(c, "bicubic:4", item_seed(SEED, 0), quantize=True)["input"]
    row = [cl.upscale_bicubic(lr, 4), _pipe("upscale", None, 4).upscale(lr), c]
    save_grid(torch.cat(row), DOC_IMAGES / "restoration_upscale_x4.png", nrow=3)
    m = random_mask("medium", 128, 128, seed=item_seed(SEED, 3))[None]
    holed = c * (1 - m)
    row = [holed + m, cl.inpaint_telea(holed, m), _pipe("inpaint").inpaint(holed, m), c]
    save_grid(torch.cat(row), DOC_IMAGES / "restoration_inpaint.png", nrow=4)
    photo_grids(crops, photo_run, inpaint_runs or [])


def photo_grids(crops, photo_run: Path | None, inpaint_runs: list[Path]) -> None:
    """Issue 20's side-by-side grids on three photos/test crops, one row each: x4 (bicubic,
    `upscale-x4`, the photo model, truth) from bicubic-downscaled and from real-degraded inputs,
    and wide holes (holed, the better classical fill, the shipped inpainter, each run, truth)."""
    from pixelforge.baselines import classical as cl
    from pixelforge.core.images import save_grid
    from pixelforge.data.degradations import item_seed, restoration_pair
    from pixelforge.data.masks import random_mask

    picks = [crops[i] for i in (0, 5, 10) if i < len(crops)]
    x4 = upscale_models(4, photo_run)
    for spec, name in (("bicubic:4", "bicubic"), ("realistic:4", "real")):
        rows = []
        for k, c in enumerate(picks):
            lr = restoration_pair(c, spec, item_seed(SEED, 100 + k), quantize=True)["input"]
            rows += [cl.upscale_bicubic(lr, 4)] + [p.upscale(lr).clamp(-1, 1)
                                                  for n, p in x4.items() if n != "GAN fine-tune"]
            rows.append(c)
        save_grid(torch.cat(rows), DOC_IMAGES / f"restoration_x4_photo_{name}.png",
                  nrow=len(rows) // len(picks))
    models = [_pipe("inpaint")] + [_pipe("inpaint", r) for r in inpaint_runs]
    rows = []
    for k, c in enumerate(picks):
        m = random_mask("wide15_40", 128, 128, seed=item_seed(SEED, 200 + k))[None]
        holed = c * (1 - m)
        rows += [holed + m, cl.inpaint_ns(holed, m)]
        rows += [p.inpaint(holed, m).clamp(-1, 1) for p in models] + [c]
    save_grid(torch.cat(rows), DOC_IMAGES / "restoration_inpaint_wide.png",
              nrow=len(rows) // len(picks))


def _photo_fd_protocol() -> dict:
    from pixelforge.metrics.photo_judge import judge_info

    return judge_info()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="first N test photos (default: all 17)")
    p.add_argument("--bm3d-n", type=int, default=17, help="BM3D on the first N crops (slow)")
    p.add_argument("--only", nargs="*", default=["denoise", "upscale", "inpaint", "speed", "rss",
                                                 "images"])
    p.add_argument("--no-fd", action="store_true", help="skip the cnn-feature FD")
    p.add_argument("--no-photo-fd", action="store_true", help="skip the photo judge's FD")
    p.add_argument("--tune-jpeg", action="store_true", help="pick NL-means h for JPEG q30")
    p.add_argument("--denoise-run", type=Path, nargs="*", default=[],
                   help="denoiser runs or checkpoints scored beside the shipped one")
    p.add_argument("--inpaint-run", type=Path, nargs="*", default=[],
                   help="inpainting runs (e.g. runs/models/inpaint_ffc) scored beside the shipped one")
    p.add_argument("--photo-run", type=Path, default=None, help="run folder of the x4 photo "
                   "model (default: the shipped upscale-x4-photo, else runs/models/"
                   "upscale_x4_photo)")
    p.add_argument("--json", type=Path, help="write the rows and the protocol here")
    p.add_argument("--table", type=Path, help="print the tables of a --json file and exit")
    args = p.parse_args(argv)
    if args.table:
        print(pivot(json.loads(args.table.read_text())["rows"]))
        return
    torch.set_num_threads(1)
    if args.tune_jpeg:
        print(tune_jpeg_h())
        return
    t0 = time.perf_counter()
    b = Bench(args.n, fd=not args.no_fd, photo_fd=not args.no_photo_fd)
    parts = {"denoise": lambda: bench_denoise(b, args.bm3d_n, args.denoise_run),
             "upscale": lambda: (bench_upscale(b, 2), bench_upscale(b, 4, args.photo_run)),
             "inpaint": lambda: bench_inpaint(b, args.inpaint_run), "speed": lambda: bench_speed(b),
             "rss": lambda: bench_rss(b),
             "images": lambda: example_images(args.photo_run, args.inpaint_run)}
    for part in args.only:
        b.part = part
        parts[part]()
    protocol = {"data": str(PHOTOS / "test"), "crops": f"one {CROP} px crop per photo, seed {SEED}",
                "n_images": len(b.crops), "degradation_seed": f"item_seed({SEED}, i)",
                "input": "rounded to 8 bits", "metrics": "on 8-bit outputs; SR Y (BT.601) with "
                "scale px border cropped + RGB; inpaint PSNR in hole and whole image",
                "fd": None if b.extractor is None else
                f"cnn features ({b.extractor.label}, rotation) of 32 px patches",
                "photo_fd": _photo_fd_protocol() if b.photo_fd else None,
                "threads": 1, "seconds": round(time.perf_counter() - t0, 1),
                "max_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}
    print(pivot(b.rows))
    if args.json:  # merged into an existing file: rows of the parts run now are replaced
        old = json.loads(args.json.read_text()) if args.json.is_file() else {"rows": []}
        rows = [r for r in old["rows"] if r.get("part") not in args.only] + b.rows
        protocol["parts"] = {**old.get("protocol", {}).get("parts", {}),
                             **{p: protocol["seconds"] for p in args.only}}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"protocol": protocol, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
