"""Peak memory of the image verbs through the CLI, as a user runs them: one fresh
`pixelforge` process per run, its peak resident set (ru_maxrss of the child) recorded.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cli_memory.py --json benchmarks/results/cli_memory.json

Runs: a 64 px PNG denoised (the fixed cost: Python, torch, the model); a 12 MP (4000 x 3000)
JPEG photo denoised with the default memory budget (1.5 GiB, tiles picked automatically) and
with --tile 0 (the whole picture at once: what the default used to be); a 1024 x 1024 PNG upscaled x4 to 4096 x 4096 with the default budget and with --tile 256
(the figure the docs quoted before). The photo is photos/test's first picture resized bicubic to
4000 x 3000 with Gaussian noise (sigma 8), JPEG quality 92; without the shared photos a seeded
synthetic picture stands in. Time is recorded but the machine is shared: trust the memory, not
the seconds. `--docs` rewrites the marked block of docs/restoration.md from the results file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos" / "test"
DOC = ROOT / "docs" / "restoration.md"
BEGIN, END = "<!-- results:cli-memory begin -->", "<!-- results:cli-memory end -->"
RUNS = {  # name -> (verb, arguments after the input, input file)
    "denoise_64px": (["denoise"], [], "small_64.png"),
    "denoise_12mp_auto": (["denoise"], [], "photo_12mp.jpg"),
    "denoise_12mp_tile0": (["denoise"], ["--tile", "0"], "photo_12mp.jpg"),
    "upscale_x4_4096_auto": (["upscale"], ["--scale", "4"], "square_1024.png"),
    "upscale_x4_4096_tile256": (["upscale"], ["--scale", "4", "--tile", "256"], "square_1024.png"),
    # a 12 MP (4000 x 3000) result from every other shipped model, with the default budget: the
    # upscalers from the 2000 x 1500 and 1000 x 750 pictures that make one, the inpainter with an
    # 800 x 600 box in the middle, the colouriser on a gray JPEG
    "upscale_x2_12mp_auto": (["upscale"], ["--scale", "2"], "photo_2000x1500.png"),
    "upscale_x4_12mp_auto": (["upscale"], ["--scale", "4"], "photo_1000x750.png"),
    "upscale_x4_photo_12mp_auto": (["upscale"], ["--model", "upscale-x4-photo"],
                                   "photo_1000x750.png"),
    "inpaint_12mp_box": (["inpaint"], ["--box", "1600,1200,800,600"], "photo_12mp.jpg"),
    "colorize_12mp_auto": (["colorize"], [], "gray_12mp.jpg"),
}
MODEL_OF = {  # run -> the shipped model it measures (pipelines/restore.SHIPPED_MODELS)
    "denoise_12mp_auto": "denoise-blind", "upscale_x2_12mp_auto": "upscale-x2",
    "upscale_x4_12mp_auto": "upscale-x4", "upscale_x4_photo_12mp_auto": "upscale-x4-photo",
    "inpaint_12mp_box": "inpaint", "colorize_12mp_auto": "colorize"}


def make_inputs(folder: Path) -> None:
    """photo_12mp.jpg (4000 x 3000) and its gray copy gray_12mp.jpg, photo_2000x1500.png,
    photo_1000x750.png, square_1024.png (1024 x 1024), small_64.png; seeded."""
    rng = np.random.default_rng(0)
    photos = sorted(PHOTOS.glob("*.png")) if PHOTOS.is_dir() else []
    if photos:
        with Image.open(photos[0]) as im:
            base = im.convert("RGB")
    else:
        y, x = np.mgrid[0:384, 0:512]
        base = Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8))
    for name, size in (("photo_12mp.jpg", (4000, 3000)), ("square_1024.png", (1024, 1024)),
                       ("small_64.png", (64, 64)), ("photo_2000x1500.png", (2000, 1500)),
                       ("photo_1000x750.png", (1000, 750))):
        a = np.asarray(base.resize(size, Image.BICUBIC)).astype(np.float32)
        a = np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.uint8)
        Image.fromarray(a).save(folder / name, quality=92)
    with Image.open(folder / "photo_12mp.jpg") as im:
        im.convert("L").save(folder / "gray_12mp.jpg", quality=92)


def run_one(args: list[str], workdir: Path) -> dict:
    """One fresh CLI process; its peak RSS (MiB, from wait4) and wall seconds."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PIXELFORGE_MAX_MEMORY", None)
    cmd = [sys.executable, "-m", "pixelforge.cli.main", "--threads", "1", *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        _, status, usage = os.wait4(proc.pid, 0)  # reaps the child: its own peak RSS
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    seconds = time.perf_counter() - t0
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed ({code}): {err}")
    return {"args": args, "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "seconds": round(seconds, 1)}


def measure(only: list[str] | None) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_inputs(work)
        for name, (verb, extra, src) in RUNS.items():
            if only and name not in only:
                continue
            results[name] = run_one([*verb, src, "--out", f"out_{name}", *extra], work)
            print(name, results[name], file=sys.stderr, flush=True)
    return {"benchmark": "benchmarks/cli_memory.py", "budget_default_gib": 1.5,
            "threads": 1, "machine": platform.machine(), "python": platform.python_version(),
            "runs": results}


# the runs the docs' sentence quotes
SENTENCE_RUNS = ("denoise_12mp_auto", "denoise_12mp_tile0", "upscale_x4_4096_auto",
                 "upscale_x4_4096_tile256", "denoise_64px")


def doc_block(res: dict) -> str:
    """The docs' memory block (markers included), as benchmarks/docs_tables.py writes it."""
    return f"{BEGIN}\n{sentence(res)}{model_table(res)}\n{END}"


def sentence(res: dict) -> str:
    """The docs' memory sentence, every figure from the results file."""
    r = res["runs"]

    def gib(name: str) -> str:
        return f"{r[name]['peak_rss_mib'] / 1024:.2f} GiB"

    return (f"Peak memory through the CLI (one process, one thread, "
            f"`benchmarks/cli_memory.py`, results in `benchmarks/results/cli_memory.json`): "
            f"denoising a 12 MP JPEG peaks at {gib('denoise_12mp_auto')} with the default "
            f"1.5 GiB budget ({gib('denoise_12mp_tile0')} with `--tile 0`, the whole picture at "
            f"once); a 1024 x 1024 -> 4096 x 4096 x4 upscale peaks at "
            f"{gib('upscale_x4_4096_auto')} with the default budget "
            f"({gib('upscale_x4_4096_tile256')} with `--tile 256`). Every peak includes Python, "
            f"torch, the model and its compute kernels: denoising a 64 px picture peaks at "
            f"{gib('denoise_64px')}.")


def model_table(res: dict) -> str:
    """Peak RSS of a 12 MP result from each shipped model (rows measured so far)."""
    r = res["runs"]
    rows = [f"| `{model}` | {' '.join(r[run]['args'][:2] + r[run]['args'][4:])} | "
            f"{r[run]['peak_rss_mib'] / 1024:.2f} | {r[run]['seconds']:.0f} |"
            for run, model in MODEL_OF.items() if run in r]
    if not rows:
        return ""
    return ("\n\nA 12 MP (4000 x 3000) result from every shipped model, default budget (the "
            "upscalers from the 2000 x 1500 / 1000 x 750 pictures that make one; seconds on a "
            "shared machine, for orientation only):\n\n"
            "| model | command (input, options) | peak RSS (GiB) | seconds |\n|---|---|---:|---:|\n"
            + "\n".join(rows))


def write_docs(res: dict) -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + doc_block(res) + text[end:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "cli_memory.json")
    ap.add_argument("--only", nargs="*", choices=sorted(RUNS))
    ap.add_argument("--docs", action="store_true", help="only rewrite the docs from --json")
    args = ap.parse_args()
    if not args.docs:
        res = measure(args.only)
        if args.only and args.json.is_file():  # keep the runs not repeated
            old = json.loads(args.json.read_text())
            res["runs"] = {**old.get("runs", {}), **res["runs"]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1) + "\n")
    res = json.loads(args.json.read_text())
    missing = [n for n in SENTENCE_RUNS if n not in res["runs"]]
    if missing:  # a fresh file from --only: the docs' sentence needs the others too
        print(f"docs not rewritten: {args.json} has no {', '.join(missing)} yet "
              "(run without --only first)", file=sys.stderr)
        return
    write_docs(res)


if __name__ == "__main__":
    main()
