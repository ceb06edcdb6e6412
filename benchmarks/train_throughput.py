"""GAN training and generation throughput on CPU, against an in-run pytorch/examples-style baseline.

    python benchmarks/train_throughput.py            # full table, ~5-8 min on 2 cores
    python benchmarks/train_throughput.py --quick    # ~1 min, fewer/shorter rounds
    python benchmarks/train_throughput.py --levers   # A/B of the individual speed levers

Every configuration lives in its own worker process (so each one's peak RSS is its own) and the
parent visits the workers round-robin, rotating the order each round: on a shared, noisy machine
alternatives are compared interleaved in one run and the table reports medians over rounds.
The pixelforge rows run the real `GANTask.train_step` fed by the real `batch_stream`; the baseline
row is a plain fp32 eager DCGAN step written the way the pytorch/examples DCGAN does it.
Peak FLOP/s is measured in the same run with 2048^3 matmuls (fp32 and bf16).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from machine import machine_info  # benchmarks/machine.py, next to this script

BATCH = 64
GEN_BATCH = 256
MODELS_UNDER_TEST = {  # family: (image size, channels, latent size) - each family's natural setup
    "dcgan": (64, 3, 100),
    "seed-dcgan": (56, 1, 128),
}


# ------------------------------------------------------------------------------------------------
# worker side
# ------------------------------------------------------------------------------------------------
class _RandomImages:
    """In-memory uint8 images, exposing what pixelforge.training.batches.batch_stream uses."""

    def __init__(self, n: int, channels: int, size: int) -> None:
        import torch

        g = torch.Generator().manual_seed(1234)
        self.images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8,
                                    generator=g)
        self.labels = torch.zeros(n, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.images)

    def tensors(self):
        return self.images, self.labels


def _step_args(task, batch: dict) -> tuple:
    """train_step's leading arguments: the batch mapping, or (images, labels) for the older
    signature (and the baseline)."""
    import inspect

    if len(inspect.signature(task.train_step).parameters) == 2:  # (batch, step)
        return (batch,)
    return batch["image"], batch["label"]


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _count_flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return float(counter.get_total_flops())


class _Examples:
    """pytorch/examples-style DCGAN step: Sigmoid + BCELoss, NCHW fp32, plain Adam, D run on the
    fake batch twice (detached for D, again for G), no EMA. Same architecture as pixelforge's
    `dcgan`."""

    def __init__(self, size: int, channels: int, latent: int) -> None:
        from torch import nn

        assert size == 64, "the baseline is the 64 px DCGAN"
        nz, ngf, ndf = latent, 64, 64
        self.nz = nz
        self.netG = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), nn.Tanh())
        self.netD = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
        self.init_training()

    def init_training(self) -> None:
        """The recipe's N(0, 0.02) init, BCE, and Adam(2e-4, (0.5, 0.999)) for netG and netD."""
        import torch
        from torch import nn

        for m in list(self.netG.modules()) + list(self.netD.modules()):
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
        self.criterion = nn.BCELoss()
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def train_step(self, real, labels, step):
        import torch

        b = real.shape[0]
        ones, zeros = torch.full((b,), 1.0), torch.full((b,), 0.0)
        self.netD.zero_grad()
        err_real = self.criterion(self.netD(real).view(-1), ones)
        err_real.backward()
        fake = self.netG(torch.randn(b, self.nz, 1, 1))
        err_fake = self.criterion(self.netD(fake.detach()).view(-1), zeros)
        err_fake.backward()
        self.optD.step()
        self.netG.zero_grad()
        err_g = self.criterion(self.netD(fake).view(-1), ones)
        err_g.backward()
        self.optG.step()
        return {"loss_d": (err_real + err_fake).detach(), "loss_g": err_g.detach()}

    def generator(self):
        return self.netG

    def latent(self, n):
        import torch

        return torch.randn(n, self.nz, 1, 1)


class Worker:
    """One configuration: a train stream and a generator, driven by the parent over stdin/stdout."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import torch

        self.spec = spec
        if spec.get("threads"):
            torch.set_num_threads(spec["threads"])
        self.threads = torch.get_num_threads()
        self.kind = spec["kind"]
        self.step = 0
        if self.kind == "peak":
            return
        t0 = time.perf_counter()
        size, channels, latent = MODELS_UNDER_TEST[spec["model"]]
        self.flops_train = 0.0
        self.flops_gen = 0.0
        if self.kind == "sample":
            self._build_sampler(spec, size, channels, latent)
            self.setup_seconds = time.perf_counter() - t0
            return
        from pixelforge.training.batches import batch_stream

        data = _RandomImages(2048, channels, size)
        self.batches = batch_stream(data, BATCH, seed=0, start_step=0, rank=0, world=1)
        if self.kind == "baseline":
            torch.manual_seed(0)
            self.task = _Examples(size, channels, latent)
            self.memory_format = torch.contiguous_format
            self.autocast = None
            self.gen_model = self.task.generator()
            self.gen_latent = self.task.latent(GEN_BATCH)
        else:
            self._build_pixelforge(spec, size, channels, latent)
        self.setup_seconds = time.perf_counter() - t0

    def _build_sampler(self, spec, size, channels, latent) -> None:
        """A fresh process that only samples, as `pixelforge sample` does (no GANTask)."""
        import torch

        from pixelforge.core.precision import Precision
        from pixelforge.models import MODELS
        from pixelforge.nn.perf import tune_cpu_allocator
        from pixelforge.pipelines.sampling import generate_images

        torch.manual_seed(0)
        g = MODELS.get(spec["model"]).build("generator", image_size=size, channels=channels,
                                            latent_dim=latent).eval()
        self.gen_latent = None
        if spec["mode"] == "as_shipped":
            self.gen_model, self.autocast = g, None
            self._sample = lambda seed: generate_images(g, GEN_BATCH, seed=seed)
            return
        # the recommended Generator.generate: allocator tuned once, channels_last, bf16 autocast
        tune_cpu_allocator()
        prec = Precision.resolve("auto", "auto", torch.device("cpu"))
        g = g.to(memory_format=prec.memory_format)
        self.gen_model, self.autocast = g, prec.autocast

        def sample(seed):
            z = g.sample_latent(GEN_BATCH, seed)
            with torch.no_grad(), prec.autocast(torch.device("cpu")):
                return g(z).float().clamp_(-1, 1)

        self._sample = sample

    def _build_pixelforge(self, spec, size, channels, latent) -> None:
        import torch

        from pixelforge.config import build_config
        from pixelforge.core.precision import Precision
        from pixelforge.models import MODELS
        from pixelforge.nn.perf import PERF, tune_cpu_allocator
        from pixelforge.training.gan import GANTask

        if spec.get("gemm") is False:
            PERF.gemm_paths = False
        for key in ("gemm_max_area", "gemm_wgrad_max_area"):  # {"bf16": area} overrides
            for dt, area in spec.get(key, {}).items():
                dtype = torch.bfloat16 if dt == "bf16" else torch.float32
                getattr(PERF, key)[dtype] = area
        if not spec.get("glibc_default_malloc"):  # what the Trainer's set-up does on CPU
            tune_cpu_allocator()
        cfg = build_config({}, {"model.name": spec["model"], "model.image_size": size,
                                "model.channels": channels, "model.latent_dim": latent,
                                "train.batch_size": BATCH})
        if spec.get("precision") == "auto":
            prec = Precision.resolve("auto", "auto", torch.device("cpu"))
        else:
            prec = Precision(bf16=spec["bf16"], channels_last=spec["cl"])
        self.precision = prec
        task = GANTask(cfg, MODELS.get(spec["model"]), num_classes=0, device=torch.device("cpu"),
                       precision=prec)
        adam = spec.get("adam")
        if adam in ("foreach", "single"):
            kw = {"foreach": adam == "foreach"}
            task.opt_g = torch.optim.Adam(task.G.parameters(), lr=2e-4, betas=(0.5, 0.999), **kw)
            adv = task.adversary
            adv.opt = torch.optim.Adam(adv.D.parameters(), lr=2e-4, betas=(0.5, 0.999), **kw)
        for key, value in spec.get("task_attrs", {}).items():  # private A/B switches of GANTask
            setattr(task, key, value)
        self.task = task
        self.memory_format = prec.memory_format
        self.autocast = prec.autocast
        self.gen_model = task.ema.module
        self.gen_latent = torch.randn(GEN_BATCH, latent, generator=torch.Generator().manual_seed(0))

    # -- one training step exactly as the Trainer's loop does it ---------------------------------
    def _train_one(self) -> None:
        import torch

        batch = next(self.batches)
        if not isinstance(batch, dict):  # (images, labels) pairs from an older batch_stream
            batch = {"image": batch[0], "label": batch[1]}
        batch["image"] = batch["image"].contiguous(memory_format=self.memory_format)
        out = self.task.train_step(*_step_args(self.task, batch), self.step)
        torch.stack([v.float() for v in out.values()]).tolist()
        self.step += 1

    def _generate_one(self):
        import torch

        if self.kind == "sample":
            return self._sample(self.step)
        g = self.gen_model
        with torch.no_grad():
            if self.autocast is not None:
                with self.autocast(torch.device("cpu")):
                    return g(self.gen_latent).float()
            return g(self.gen_latent).float()

    def warmup(self, steps: int) -> dict[str, Any]:
        import torch

        if self.kind == "peak":
            self.peak(1)
            return {"setup_seconds": 0.0}
        if self.kind == "sample":
            return {"setup_seconds": self.setup_seconds}
        t0 = time.perf_counter()
        self._train_one()  # first step: lazy allocations, oneDNN primitive creation
        self.flops_train = _count_flops(self._train_one) / BATCH  # one real step, counted
        if self.spec.get("compile"):
            self.task.g_step = torch.compile(self.task.G)
            adv = self.task.adversary
            adv.d_ddp = torch.compile(adv.D)  # D's step; the G step calls the raw D
        first = time.perf_counter()
        for _ in range(steps):
            self._train_one()
        warm = time.perf_counter() - first
        return {"setup_seconds": self.setup_seconds, "warmup_seconds": time.perf_counter() - t0,
                "step_seconds": warm / steps}

    def gen_warmup(self) -> dict[str, Any]:
        self.gen_model.eval()
        self._generate_one()
        self.flops_gen = _count_flops(self._generate_one) / GEN_BATCH
        t0 = time.perf_counter()
        self._generate_one()
        return {"gen_seconds": time.perf_counter() - t0}

    def train(self, steps: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        for _ in range(steps):
            self._train_one()
        return {"images": steps * BATCH, "seconds": time.perf_counter() - t0,
                "max_rss_mib": _max_rss_mib()}

    def generate(self, batches: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        for _ in range(batches):
            self._generate_one()
        return {"images": batches * GEN_BATCH, "seconds": time.perf_counter() - t0,
                "max_rss_mib": _max_rss_mib()}

    def peak(self, reps: int) -> dict[str, Any]:
        """Matmul GFLOP/s in fp32 and bf16: 2048^3 where one product takes under ~0.2 s; on a CPU
        without native bf16 (emulated, ~100x slower) the largest power-of-two size that does, so
        the measurement stays seconds, not the ten minutes a 2048^3 emulated product loop takes."""
        import torch

        out = {}
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            n, took = 256, 0.0
            while True:
                a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
                a @ b  # warm-up at this size
                t0 = time.perf_counter()
                a @ b
                took = time.perf_counter() - t0
                if n >= 2048 or took * 8 > 0.2:  # the next size costs 8x
                    break
                n *= 2
            k = max(1, min(8, int(0.5 / max(took, 1e-6))))
            best = float("inf")
            for _ in range(reps):
                t0 = time.perf_counter()
                for _ in range(k):
                    a @ b
                best = min(best, (time.perf_counter() - t0) / k)
            out[name] = 2 * n**3 / best / 1e9
            out[f"{name}_n"] = n
        return out

    def info(self) -> dict[str, Any]:
        return {"flops_train": self.flops_train, "flops_gen": self.flops_gen,
                "max_rss_mib": _max_rss_mib(), "threads": self.threads}


def worker_main(spec_json: str) -> None:
    serve(lambda: Worker(json.loads(spec_json)))


def serve(make_worker) -> None:
    """A worker process's loop: build the worker, then one JSON command per stdin line and one
    JSON answer per stdout line (i2i_throughput.py's workers speak the same protocol)."""
    out = sys.stdout
    sys.stdout = sys.stderr  # anything printed by libraries must not corrupt the protocol
    w = make_worker()
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        if op == "quit":
            break
        res = getattr(w, op)(**cmd)
        out.write(json.dumps(res) + "\n")
        out.flush()


# ------------------------------------------------------------------------------------------------
# parent side
# ------------------------------------------------------------------------------------------------
class Proc:
    """A worker process of `script` (this file by default) fed specs over its stdin pipe."""

    def __init__(self, name: str, spec: dict[str, Any], script: str = __file__) -> None:
        self.name, self.spec = name, spec
        env = dict(os.environ, **spec.get("env", {}))
        self.p = subprocess.Popen([sys.executable, os.path.abspath(script), "--worker",
                                   json.dumps(spec)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env)
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.ready = False

    def wait_ready(self) -> None:
        if not self.ready:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"worker {self.name} died during start-up")
            self.ready = True

    def call(self, op: str, **kw: Any) -> dict[str, Any]:
        self.wait_ready()
        self.p.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} died running {op}")
        res = json.loads(line)
        self.results.setdefault(op, []).append(res)
        return res

    def close(self) -> None:
        try:
            self.p.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=60)


def _rate(results: list[dict[str, Any]]) -> float:
    return statistics.median(r["images"] / r["seconds"] for r in results)


def _auto() -> tuple[bool, bool]:
    import torch

    from pixelforge.core.precision import Precision

    p = Precision.resolve("auto", "auto", torch.device("cpu"))
    return p.bf16, p.channels_last


def table_configs() -> list[tuple[str, dict[str, Any]]]:
    auto = _auto()
    confs = [("baseline dcgan (pytorch/examples style)", {"kind": "baseline", "model": "dcgan"})]
    for model in MODELS_UNDER_TEST:
        for bf16 in (False, True):
            for cl in (False, True):
                name = f"{model} {'bf16' if bf16 else 'fp32'} {'channels_last' if cl else 'NCHW'}"
                default = (bf16, cl) == auto
                confs.append((name + (" *" if default else ""),
                              {"kind": "pixelforge", "model": model, "bf16": bf16, "cl": cl}))
    confs += [("dcgan generate_images() with its defaults",
               {"kind": "sample", "model": "dcgan", "mode": "as_shipped"}),
              ("dcgan generate, recommended (bf16 autocast, CL, allocator)",
               {"kind": "sample", "model": "dcgan", "mode": "recommended"})]
    return confs


def lever_configs() -> list[tuple[str, dict[str, Any]]]:
    base = {"kind": "pixelforge", "model": "dcgan", "bf16": True, "cl": True}
    fp32 = {"kind": "pixelforge", "model": "dcgan", "bf16": False, "cl": True}
    return [
        ("baseline dcgan (pytorch/examples style)", {"kind": "baseline", "model": "dcgan"}),
        ("dcgan bf16 CL (default)", base),
        ("  GEMM routes off (stock oneDNN layers)", dict(base, gemm=False)),
        ("  GEMM routes, no GEMM weight grads", dict(base, gemm_wgrad_max_area={"bf16": 16})),
        ("  whole-layer GEMM also for 8x8 maps", dict(base, gemm_max_area={"bf16": 64})),
        ("  foreach Adam instead of fused", dict(base, adam="foreach")),
        ("  EMA via AveragedModel.update_parameters", dict(base, task_attrs={"_fast_ema": False})),
        ("  glibc malloc defaults (no tune_cpu_allocator)", dict(base, glibc_default_malloc=True)),
        ("  torch.compile(G), torch.compile(D)", dict(base, compile=True)),
        ("dcgan bf16 NCHW", dict(base, cl=False)),
        ("dcgan fp32 CL", fp32),
        ("  fp32 CL, GEMM routes off", dict(fp32, gemm=False)),
        ("dcgan fp32 NCHW", dict(fp32, cl=False)),
    ]


def run(confs, rounds: int, visit_seconds: float, warm_steps: int, threads: int | None) -> dict:
    t_start = time.perf_counter()
    warm, procs = {}, []
    for name, spec in [("peak", {"kind": "peak", "threads": threads}), *confs]:
        p = Proc(name, spec)  # start and warm up one at a time so start-up work does not overlap
        warm[p.name] = p.call("warmup", steps=warm_steps)
        procs.append(p)
        info = json.dumps({k: round(v, 3) for k, v in warm[p.name].items()})
        print(f"  warmed up {p.name:45s} {info}",
              file=sys.stderr, flush=True)
    peak, procs = procs[0], procs[1:]
    samplers = [p for p in procs if p.spec["kind"] == "sample"]
    procs = [p for p in procs if p.spec["kind"] != "sample"]
    steps = {p.name: max(1, round(visit_seconds / warm[p.name]["step_seconds"])) for p in procs}
    # phase 1: training, interleaved; phase 2: generation, interleaved (peaks stay separable)
    order = [peak, *procs]
    for r in range(rounds):
        k = r % len(order)
        for p in order[k:] + order[:k]:
            if p is peak:
                p.call("peak", reps=2)
            else:
                p.call("train", steps=steps[p.name])
        print(f"  training round {r + 1}/{rounds} done ({time.perf_counter() - t_start:.0f} s)",
              file=sys.stderr, flush=True)
    train_rss = {p.name: p.results["train"][-1]["max_rss_mib"] for p in procs}
    gorder = procs + samplers
    gens = {p.name: max(1, round(0.5 * visit_seconds / p.call("gen_warmup")["gen_seconds"]))
            for p in gorder}
    for r in range(rounds):
        k = r % len(gorder)
        for p in gorder[k:] + gorder[:k]:
            p.call("generate", batches=gens[p.name])
    infos = {p.name: p.call("info") for p in procs}
    out = {"peak_gflops": {d: statistics.median(r[d] for r in peak.results["peak"])
                           for d in ("fp32", "bf16")},
           "peak_matmul_n": {d: peak.results["peak"][-1][f"{d}_n"] for d in ("fp32", "bf16")},
           "rows": [], "seconds": time.perf_counter() - t_start}
    base_rate = None
    for p in procs:
        rate = _rate(p.results["train"])
        per_round = [r["images"] / r["seconds"] for r in p.results["train"]]
        if p.spec["kind"] == "baseline":
            base_rate = rate
        out["rows"].append({
            "name": p.name, "spec": p.spec, "train_img_s": rate,
            "train_img_s_rounds": per_round,
            "gen_img_s": _rate(p.results["generate"]),
            "flops_train_per_img": infos[p.name]["flops_train"],
            "flops_gen_per_img": infos[p.name]["flops_gen"],
            "train_peak_rss_mib": train_rss[p.name], "threads": infos[p.name]["threads"],
            "peak_rss_mib": infos[p.name]["max_rss_mib"],
            "warmup_seconds": warm[p.name]["warmup_seconds"]})
    out["baseline_img_s"] = base_rate
    out["samplers"] = [{"name": p.name, "spec": p.spec, "gen_img_s": _rate(p.results["generate"]),
                        "peak_rss_mib": p.call("info")["max_rss_mib"]} for p in samplers]
    for p in [peak, *procs, *samplers]:
        p.close()
    return out


def print_table(res: dict) -> None:
    import torch

    pk = res["peak_gflops"]
    base = res["baseline_img_s"]
    threads = sorted({r["threads"] for r in res["rows"]})
    print(f"\ntorch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"torch threads per worker: {threads}; "
          f"batch {BATCH} (train), {GEN_BATCH} (generation)")
    n = res.get("peak_matmul_n", {"fp32": 2048, "bf16": 2048})
    print(f"machine peak ({n['fp32']}^3 fp32 / {n['bf16']}^3 bf16 matmul, median of rounds): "
          f"fp32 {pk['fp32']:.0f} GFLOP/s, "
          f"bf16 {pk['bf16']:.0f} GFLOP/s\n")
    hdr = (f"{'configuration':44s} {'train img/s':>11s} {'x base':>7s} {'GFLOP/img':>9s} "
           f"{'GFLOP/s':>8s} {'% peak':>7s} {'gen img/s':>10s} {'gen %pk':>7s} {'RSS MiB':>8s}")
    print(hdr)
    print("-" * len(hdr))
    for r in res["rows"]:
        bf16 = r["spec"].get("bf16", False)
        peak = pk["bf16"] if bf16 else pk["fp32"]
        gfs = r["train_img_s"] * r["flops_train_per_img"] / 1e9
        ggfs = r["gen_img_s"] * r["flops_gen_per_img"] / 1e9
        ratio = r["train_img_s"] / base if base else float("nan")
        print(f"{r['name']:44s} {r['train_img_s']:11.1f} {ratio:7.2f} "
              f"{r['flops_train_per_img'] / 1e9:9.2f} {gfs:8.0f} {100 * gfs / peak:6.1f}% "
              f"{r['gen_img_s']:10.0f} {100 * ggfs / peak:6.1f}% {r['train_peak_rss_mib']:8.0f}")
    if res.get("samplers"):
        print(f"\nsampling-only processes (batch {GEN_BATCH}, no training in the process):")
        for g in res["samplers"]:
            print(f"  {g['name']:60s} {g['gen_img_s']:7.0f} img/s  RSS {g['peak_rss_mib']:.0f} MiB")
    print("\n* = the default ('auto') precision on this machine. "
          "% peak: of the fp32 matmul peak for fp32 rows, of the bf16 peak for bf16 rows. "
          "RSS: peak resident set of the worker during training (incl. Python + torch).")
    print(f"total benchmark time {res['seconds']:.0f} s")


def profile_main(steps: int, rows: int, threads: int | None) -> None:
    """Per-op CPU profile of the default dcgan 64 px training step, stock layers vs GEMM routes."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from pixelforge.nn.perf import PERF

    if threads:
        torch.set_num_threads(threads)
    spec = {"kind": "pixelforge", "model": "dcgan", "precision": "auto"}
    w = Worker(spec)
    for gemm in (False, True):
        PERF.gemm_paths = gemm
        for _ in range(3):
            w._train_one()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            for _ in range(steps):
                w._train_one()
            rate = steps * BATCH / (time.perf_counter() - t0)
        print(f"\n=== dcgan 64 px, {w.precision.describe()}, {torch.get_num_threads()} threads, "
              f"GEMM routes {'on' if gemm else 'off'}: {rate:.1f} img/s under the profiler, "
              f"{steps} steps ===")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows,
                                        max_name_column_width=40))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="~1 minute: 3 short rounds")
    ap.add_argument("--levers", action="store_true", help="A/B the speed levers on dcgan 64 px")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads per worker (default: torch's default, one per core)")
    ap.add_argument("--only", default=None, help="run only configurations whose name contains this")
    ap.add_argument("--json", default=None, help="also write the raw results here")
    ap.add_argument("--profile", action="store_true",
                    help="torch.profiler op table of the default dcgan step, GEMM routes off/on")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        worker_main(args.worker)
        return
    if args.profile:
        profile_main(steps=5 if args.quick else 10, rows=15, threads=args.threads)
        return
    confs = lever_configs() if args.levers else table_configs()
    if args.only:
        confs = [c for c in confs if args.only in c[0] or c[1]["kind"] == "baseline"]
    if args.threads:
        confs = [(name, {"threads": args.threads, **spec}) for name, spec in confs]
    if args.quick:
        rounds, visit, warm = args.rounds or 3, 0.5, 1
    else:
        rounds, visit, warm = args.rounds or 7, 1.5, 3
    res = run(confs, rounds, visit, warm, threads=args.threads)
    print_table(res)
    if args.json:  # with the machine it ran on and the command that reruns it
        res.update(machine=machine_info(), command="python benchmarks/train_throughput.py "
                   + " ".join(sys.argv[1:]))
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
