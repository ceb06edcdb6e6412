"""Image-to-image throughput on CPU as a fraction of the machine's measured peak: the blind
denoiser (DnCNN, recipe restoration/denoise_blind_dncnn) and pix2pix (U-Net + PatchGAN, recipe
translation/facades_pix2pix), training and inference, at precision auto and fp32.

    python benchmarks/i2i_throughput.py --json     # full table -> benchmarks/results/i2i_throughput.json,
                                                   # ~3 min on 2 cores (2 threads per worker)
    python benchmarks/i2i_throughput.py --smoke --json /tmp/smoke.json   # <1 min: tiny sizes,
                                                   # one short round (checks every path runs)
    python benchmarks/i2i_throughput.py --only denoise --rounds 3

Why: train_throughput.py says how close the GAN step gets to the CPU's peak; this says the same
for the image-to-image models, in megapixels per second, so a slow model shows up as a low
fraction of peak rather than only as a low rate. What runs is what the package runs:
- training: the recipe's Task (as the kind declares it, prepared by Accelerate, CPU allocator
  tuned, precision resolved as the Trainer does) and its `train_step` on random batches of the
  recipe's shape ({"input", "target"} in [-1, 1], in the run's memory layout); the data pipeline
  (photo crops, degradations) is not part of the figure;
- inference: DenoisePipeline.denoise with the recipe's DnCNN (fresh weights: the shipped blind
  denoiser is now the multi-scale network) on 4 x 256 px, and TranslatePipeline.translate (the recipe's U-Net with fresh weights, none ships; direction b2a)
  on 16 x 128 px (the recipe's size), whole pictures (tile=0, so no machine-dependent tiling decision enters the figure).
FLOP per megapixel is counted with torch.utils.flop_counter.FlopCounterMode over one real step
(convolutions and matmuls only). The bf16 and fp32 peaks are 2048^3 matmuls measured in the same
run by train_throughput.py's peak worker. Each configuration lives in its own worker process
(own peak RSS, torch threads and OMP_NUM_THREADS pinned to --threads); the parent visits them
round-robin, rotating the order each round, and reports medians over rounds; the "x fp32"
column is the median over rounds of each round's auto/fp32 ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import train_throughput as tt  # noqa: E402  (the peak worker, FLOP counting, the worker pipes)
from machine import machine_info  # noqa: E402

DEFAULT_JSON = HERE / "results" / "i2i_throughput.json"
PRECISIONS = ("auto", "fp32")
MODES = ("train", "infer")
# model: its recipe, the inference batch (n, side; None = the recipe's image_size) and the
# --smoke overrides (tiny sizes: the point of a smoke run is that every path runs)
MODELS_UNDER_TEST: dict[str, dict[str, Any]] = {
    "denoise": {"recipe": "restoration/denoise_blind_dncnn", "infer": (4, 256),
                "smoke": {"overrides": {"train.batch_size": 4, "model.image_size": 32},
                          "infer": (1, 64)}},
    "pix2pix": {"recipe": "translation/facades_pix2pix", "infer": (16, None),
                "smoke": {"overrides": {"train.batch_size": 2, "model.image_size": 32,
                                        "model.params.depth": 5, "model.params.width": 8},
                          "infer": (2, 32)}},
}
POOL = 4  # distinct random batches cycled through (the values do not change the speed)


# ------------------------------------------------------------------------------------------------
# worker side
# ------------------------------------------------------------------------------------------------
def recipe_config(model: str, smoke: bool):
    """The model's shipped recipe as a RunConfig (with the --smoke size overrides)."""
    from pixelforge.config import load_config

    m = MODELS_UNDER_TEST[model]
    return load_config(m["recipe"], m["smoke"]["overrides"] if smoke else None)


class Worker:
    """One configuration (model x train/infer x precision), driven by the parent over a pipe."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import torch

        if spec.get("threads"):
            torch.set_num_threads(spec["threads"])
        self.spec, self.threads, self.step = spec, torch.get_num_threads(), 0
        self.import_rss_mib = tt._max_rss_mib()  # python + torch alone, before any model
        self.flops_per_call = 0.0
        t0 = time.perf_counter()
        self.cfg = recipe_config(spec["model"], spec.get("smoke", False))
        if spec["mode"] == "train":
            self._build_train()
        else:
            self._build_infer()
        self.setup_seconds = time.perf_counter() - t0

    def _build_train(self) -> None:
        """The recipe's Task as the Trainer sets it up on a CPU (pixelforge.training.trainer)."""
        import torch
        from accelerate import Accelerator

        from pixelforge.core.precision import Precision
        from pixelforge.models import MODELS
        from pixelforge.nn.perf import tune_cpu_allocator
        from pixelforge.training.task import task_class

        c = self.cfg
        cpu = torch.device("cpu")
        acc = Accelerator(cpu=True, mixed_precision="no")
        self.precision = Precision.resolve(self.spec["precision"], c.train.channels_last, cpu)
        tune_cpu_allocator()
        family = MODELS.get(c.model.name)
        self.task = task_class(family)(c, family, num_classes=0, device=cpu,
                                       precision=self.precision, num_images=1000)
        self.task.prepare(acc)
        n, ch, side = c.train.batch_size, c.model.channels or 3, c.model.image_size
        g = torch.Generator().manual_seed(0)
        self.batches = []
        for _ in range(POOL):  # target in [-1, 1]; input a noisy version of it
            target = torch.rand(n, ch, side, side, generator=g) * 2 - 1
            noisy = target + 0.1 * torch.randn(n, ch, side, side, generator=g)
            self.batches.append({"input": noisy.clamp(-1, 1), "target": target})
        self.pixels_per_call, self.images_per_call = n * side * side, n

    def _build_infer(self) -> None:
        """The kind's inference pipeline on one batch of random pictures."""
        import torch

        c = self.cfg
        m = MODELS_UNDER_TEST[self.spec["model"]]
        n, side = m["smoke"]["infer"] if self.spec.get("smoke") else m["infer"]
        side = side or c.model.image_size
        x = torch.rand(n, c.model.channels or 3, side, side,
                       generator=torch.Generator().manual_seed(0)) * 2 - 1
        prec = self.spec["precision"]
        if self.spec["model"] == "denoise":
            from pixelforge.models import MODELS
            from pixelforge.pipelines.restore import DenoisePipeline

            torch.manual_seed(c.train.seed)
            net = MODELS.get(c.model.name).build("denoiser", **c.model.params).eval()
            pipe = DenoisePipeline({"denoiser": net})
            self._call = lambda: pipe.denoise(x, tile=0, precision=prec)
        else:
            from pixelforge.models import MODELS
            from pixelforge.pipelines.translate import TranslatePipeline

            torch.manual_seed(c.train.seed)
            ch = c.model.channels or 3
            g = MODELS.get(c.model.name).build("generator", in_channels=ch, out_channels=ch,
                                               **c.model.params).eval()
            pipe = TranslatePipeline({"generator_ba": g})
            self._call = lambda: pipe.translate(x, direction="b2a", tile=0, batch_size=n,
                                                precision=prec)
        self.pixels_per_call, self.images_per_call = n * side * side, n
        self.precision_name = prec

    def _one(self) -> None:
        """One training step exactly as the Trainer's loop runs it, or one pipeline call."""
        import torch

        if self.spec["mode"] == "infer":
            self._call()
            return
        fmt = self.precision.memory_format
        batch = {k: v.contiguous(memory_format=fmt)
                 for k, v in self.batches[self.step % POOL].items()}
        out = self.task.train_step(batch, self.step)
        torch.stack([v.float() for v in out.values()]).tolist()
        self.step += 1

    def warmup(self, steps: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        self._one()  # first call: lazy allocations, oneDNN primitive creation
        self.flops_per_call = tt._count_flops(self._one)
        first = time.perf_counter()
        for _ in range(steps):
            self._one()
        return {"setup_seconds": self.setup_seconds, "warmup_seconds": time.perf_counter() - t0,
                "step_seconds": (time.perf_counter() - first) / steps}

    def run(self, steps: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        for _ in range(steps):
            self._one()
        return {"pixels": steps * self.pixels_per_call, "images": steps * self.images_per_call,
                "seconds": time.perf_counter() - t0, "max_rss_mib": tt._max_rss_mib()}

    def info(self) -> dict[str, Any]:
        if self.spec["mode"] == "train":
            prec = self.precision
        else:
            import torch

            from pixelforge.core.precision import Precision

            prec = Precision.resolve(self.precision_name, "auto", torch.device("cpu"))
        return {"flops_per_call": self.flops_per_call, "pixels_per_call": self.pixels_per_call,
                "images_per_call": self.images_per_call, "bf16": prec.bf16,
                "resolved": prec.describe(), "threads": self.threads,
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "import_rss_mib": self.import_rss_mib, "max_rss_mib": tt._max_rss_mib()}


def worker_main(spec_json: str) -> None:
    """The worker's loop: train_throughput.py's JSON-lines protocol over stdin/stdout."""
    tt.serve(lambda: Worker(json.loads(spec_json)))


# ------------------------------------------------------------------------------------------------
# parent side
# ------------------------------------------------------------------------------------------------
class Proc(tt.Proc):
    """train_throughput's worker pipe, starting `script` (this file's workers, or its peak one)."""

    def __init__(self, name: str, spec: dict[str, Any], script: str = __file__) -> None:
        super().__init__(name, spec, script)


def configs(threads: int, smoke: bool, only: str | None) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for model in MODELS_UNDER_TEST:
        for mode in MODES:
            for prec in PRECISIONS:
                name = f"{model} {mode} {prec}"
                if only and only not in name:
                    continue
                out.append((name, {"model": model, "mode": mode, "precision": prec,
                                   "threads": threads, "smoke": smoke,
                                   "env": {"OMP_NUM_THREADS": str(threads)}}))
    return out


def run(confs, rounds: int, visit_seconds: float, warm_steps: int, threads: int,
        peak_reps: int) -> dict[str, Any]:
    t_start = time.perf_counter()
    peak = Proc("peak", {"kind": "peak", "threads": threads,
                         "env": {"OMP_NUM_THREADS": str(threads)}}, script=tt.__file__)
    warm = {"peak": peak.call("warmup", steps=1)}
    procs = []
    for name, spec in confs:  # start and warm up one at a time so start-up work does not overlap
        p = Proc(name, spec)
        warm[name] = p.call("warmup", steps=warm_steps)
        procs.append(p)
        info = json.dumps({k: round(v, 3) for k, v in warm[name].items()})
        print(f"  warmed up {name:24s} {info}", file=sys.stderr, flush=True)
    steps = {p.name: max(1, round(visit_seconds / warm[p.name]["step_seconds"])) for p in procs}
    order = [peak, *procs]
    for r in range(rounds):
        k = r % len(order)
        for p in order[k:] + order[:k]:
            if p is peak:
                p.call("peak", reps=peak_reps)
            else:
                p.call("run", steps=steps[p.name])
        print(f"  round {r + 1}/{rounds} done ({time.perf_counter() - t_start:.0f} s)",
              file=sys.stderr, flush=True)
    infos = {p.name: p.call("info") for p in procs}
    res: dict[str, Any] = {
        "peak_gflops": {d: statistics.median(r[d] for r in peak.results["peak"])
                        for d in ("fp32", "bf16")},
        "peak_gflops_rounds": peak.results["peak"], "rows": []}
    for p in procs:
        runs, info = p.results["run"], infos[p.name]
        mp_rounds = [r["pixels"] / r["seconds"] / 1e6 for r in runs]
        res["rows"].append({
            "name": p.name, "model": p.spec["model"], "mode": p.spec["mode"],
            "precision": p.spec["precision"], "resolved": info["resolved"], "bf16": info["bf16"],
            "mp_s": statistics.median(mp_rounds), "mp_s_rounds": mp_rounds,
            "img_s": statistics.median(r["images"] / r["seconds"] for r in runs),
            "flop_per_mp": info["flops_per_call"] / (info["pixels_per_call"] / 1e6),
            "flop_per_call": info["flops_per_call"], "pixels_per_call": info["pixels_per_call"],
            "images_per_call": info["images_per_call"], "steps_per_visit": steps[p.name],
            "peak_rss_mib": info["max_rss_mib"], "import_rss_mib": info["import_rss_mib"],
            "threads": info["threads"],
            "omp_num_threads": info["omp_num_threads"],
            "setup_seconds": warm[p.name]["setup_seconds"],
            "warmup_seconds": warm[p.name]["warmup_seconds"]})
    for p in [peak, *procs]:
        p.close()
    derive(res)
    res["seconds"] = time.perf_counter() - t_start
    return res


def derive(res: dict[str, Any]) -> None:
    """The figures computed from the measured ones: GFLOP/s, % of each peak, auto/fp32 ratios."""
    pk = res["peak_gflops"]
    by_name = {r["name"]: r for r in res["rows"]}
    for r in res["rows"]:
        r["gflop_s"] = r["mp_s"] * r["flop_per_mp"] / 1e9
        r["pct_bf16_peak"] = 100 * r["gflop_s"] / pk["bf16"]
        r["pct_fp32_peak"] = None if r["bf16"] else 100 * r["gflop_s"] / pk["fp32"]
        fp32 = by_name.get(f"{r['model']} {r['mode']} fp32")
        r["x_fp32"] = None
        if fp32 is not None and fp32 is not r and len(fp32["mp_s_rounds"]) == len(r["mp_s_rounds"]):
            r["x_fp32"] = statistics.median(a / b for a, b in zip(r["mp_s_rounds"],
                                                                  fp32["mp_s_rounds"], strict=True))


def table(res: dict[str, Any]) -> str:
    pk, m = res["peak_gflops"], res["machine"]
    lines = [f"\n{m['cpu_model']} (avx512_bf16: {m['avx512_bf16']}, amx: {m['amx'] or 'none'}), "
             f"{m['cpus']} CPUs, torch {m['torch']}, {res['threads']} threads per worker, "
             f"{res['rounds']} rounds{' (SMOKE: tiny sizes)' if res['smoke'] else ''}",
             f"machine peak (2048^3 matmul, median of rounds): fp32 {pk['fp32']:.0f} GFLOP/s, "
             f"bf16 {pk['bf16']:.0f} GFLOP/s\n"]
    hdr = (f"{'configuration':20s} {'resolved':28s} {'MP/s':>8s} {'img/s':>8s} {'x fp32':>6s} "
           f"{'GFLOP/MP':>9s} {'GFLOP/s':>8s} {'%bf16pk':>7s} {'%fp32pk':>7s} {'RSS MiB':>8s}")
    lines += [hdr, "-" * len(hdr)]
    for r in res["rows"]:
        ratio = f"{r['x_fp32']:6.2f}" if r["x_fp32"] is not None else f"{'':6s}"
        fp32pk = f"{r['pct_fp32_peak']:6.1f}%" if r["pct_fp32_peak"] is not None else f"{'':7s}"
        lines.append(f"{r['name']:20s} {r['resolved']:28s} {r['mp_s']:8.3f} {r['img_s']:8.1f} "
                     f"{ratio} {r['flop_per_mp'] / 1e9:9.2f} {r['gflop_s']:8.1f} "
                     f"{r['pct_bf16_peak']:6.1f}% {fp32pk} {r['peak_rss_mib']:8.0f}")
    base = max(r["import_rss_mib"] for r in res["rows"])
    lines.append("\nMP/s: megapixels of training input (train) or of pictures (infer) per second; "
                 "GFLOP/s = MP/s x GFLOP/MP (FlopCounterMode, convs and matmuls of one step); "
                 "x fp32: median over rounds of the auto/fp32 rate ratio; RSS: the worker's peak "
                 f"(of which python + torch alone: up to {base:.0f} MiB).")
    lines.append(f"total benchmark time {res['seconds']:.0f} s")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7; "
                    "--smoke: 1)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per worker (default 2)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes and one short round: checks every path runs (~1 min)")
    ap.add_argument("--only", default=None, help="only configurations whose name contains this")
    ap.add_argument("--json", nargs="?", const=str(DEFAULT_JSON), default=None,
                    help=f"write the results here (no path: {DEFAULT_JSON.relative_to(HERE.parent)})")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        worker_main(args.worker)
        return
    if args.smoke and args.json and Path(args.json).resolve() == DEFAULT_JSON:
        ap.error("--smoke results are not the benchmark's: give --json another path")
    confs = configs(args.threads, args.smoke, args.only)
    if not confs:
        ap.error(f"--only {args.only!r} matches no configuration")
    if args.smoke:
        rounds, visit, warm, reps = args.rounds or 1, 0.2, 1, 1
    else:
        rounds, visit, warm, reps = args.rounds or 7, 1.5, 3, 2
    res = run(confs, rounds, visit, warm, args.threads, reps)
    res.update(machine=machine_info(), threads=args.threads, rounds=rounds, smoke=args.smoke,
               visit_seconds=visit, command=" ".join(["python", *sys.argv]))
    print(table(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
