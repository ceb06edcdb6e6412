"""GAN sample quality under a fixed CPU budget: the shipped gan/*.yaml recipes against two outside ones.

Commands (from the repo root; needs ../shared/data/{mnist,cifar10}.npz):

  # the full benchmark: 8 configs + 2 baselines on 4 data sets (40 runs + 4 reference jobs),
  # 10 CPU-minutes per run, two runs at a time with one thread each: ~4 h on 2 quiet cores
  .venv/bin/python benchmarks/gan_quality.py --budget 10 --jobs 2 --threads 1

  # then the augmentation ablation on the 1k-image subsets: each config also with DiffAugment and
  # with ADA (32 more runs, ~3 h; the plain runs above are reused, not rerun)
  .venv/bin/python benchmarks/gan_quality.py --datasets mnist-1k cifar10-1k --augment-ablation

  # a subset, e.g. one data set and three runs
  .venv/bin/python benchmarks/gan_quality.py --datasets mnist --configs dcgan sngan-hinge wgan-gp-mlp

  # a quick check of the harness (0.2 CPU-minutes per run, 500 samples, dcgan + both baselines)
  .venv/bin/python benchmarks/gan_quality.py --smoke --jobs 1

  # training rate of each config on 1 thread (random data, 20 CPU-seconds each; model sizing)
  .venv/bin/python benchmarks/gan_quality.py --rates 20 --datasets mnist cifar10

  # only print the tables of what <out>/results.jsonl holds
  .venv/bin/python benchmarks/gan_quality.py --report

Every run is its own process (`--worker`), with torch.set_num_threads(--threads) and
OMP_NUM_THREADS set, and trains until --budget minutes of *process CPU time* are used
(train.time_budget + train.budget_clock: cpu for pixelforge, the same clock for the baselines), so
runs sharing a busy machine get the same amount of computation. pixelforge runs go through the
one trainer (`pixelforge.training.train`) from the shipped recipe gan/<data>_<config>; `<config>+diffaugment`
and `<config>+ada` set augment.kind, and plain names set augment.kind: none (no augmentation).

Every generator - pixelforge, baseline, untrained, and the real training images - is scored by
`pixelforge.metrics.evaluate_generator` with the same settings on the same real test split at the
data set's native size (MNIST 28 px, CIFAR-10 32 px): FD, KID, precision and recall in the features
of the `cnn` extractor trained on the real train split (cached), --n-gen samples. Generators
trained at another size (the power-of-two families' 32 px MNIST configs, examples-dcgan) have their
samples resized to the native size (bilinear, antialiased) first; a reference row shows what that
round trip alone costs real images. Rows are appended to <out>/results.jsonl (a run already there
is skipped; --force reruns every planned run, training included, and deletes its run folder) and
a markdown table per data set is printed, sorted by FD. Tuning variants: '<config>@key=value,...'
(see split_name).
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
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from pixelforge.configs import root as configs_root

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"
CONFIG_DIR = configs_root() / "gan"
sys.path.insert(0, str(Path(__file__).resolve().parent))

CONFIGS = ("dcgan", "dcgan-sn", "lsgan", "wgan-clip", "wgan-gp", "sngan-hinge", "sagan",
           "cond-projection", "stylegan-lite")
BASELINE_NAMES = ("examples-dcgan", "wgan-gp-mlp")
AUGMENTS = ("diffaugment", "ada")
TRAIN_SIZE = 32  # examples-dcgan's size, and the power-of-two families' MNIST configs
CHECKPOINT_EVERY = 500  # so a run stopped by the health monitor still has a generator to score


@dataclass(frozen=True)
class DataSet:
    name: str
    file: str
    native: int  # the size images are scored at
    channels: int
    limit: int | None = None  # first N training images

    @property
    def base(self) -> str:
        return self.name.split("-")[0]

    @property
    def path(self) -> Path:
        return DATA_DIR / self.file


DATASETS = {d.name: d for d in (
    DataSet("mnist", "mnist.npz", 28, 1), DataSet("mnist-1k", "mnist.npz", 28, 1, 1000),
    DataSet("cifar10", "cifar10.npz", 32, 3), DataSet("cifar10-1k", "cifar10.npz", 32, 3, 1000))}


def config_path(ds: DataSet, config: str) -> Path:
    return CONFIG_DIR / f"{ds.base}_{config.replace('-', '_')}.yaml"


def split_name(name: str) -> tuple[str, str, dict[str, Any]]:
    """'<config>[+<augment>][@key=value,...]' -> (config, augment or '', {key: value}).

    The @ part sets config fields for a tuning sweep, e.g.
    'dcgan-sn@model.params.width=32,train.lr_d=4e-4' (values parsed as YAML); the variant is its
    own row, named by the whole string."""
    import re

    import yaml

    head, _, sets = name.partition("@")
    config, _, aug = head.partition("+")
    overrides: dict[str, Any] = {}
    for item in filter(None, re.split(r",(?=[\w.]+=)", sets)):  # commas inside [..] stay
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError(f"--configs {name!r}: expected key=value after '@', got {item!r}")
        overrides[key] = yaml.safe_load(value)
    return config, aug, overrides


def run_config(ds: DataSet, name: str, *, budget: float | None, seed: int, max_steps: int = 10**7):
    """The RunConfig of pixelforge run `name` (see split_name) on `ds`."""
    from pixelforge.config import build_config, load_yaml

    config, aug, sets = split_name(name)
    path = config_path(ds, config)
    overrides = {"data.path": str(ds.path), "data.limit": ds.limit, "train.steps": max_steps,
                 "train.time_budget": budget, "train.budget_clock": "cpu", "train.seed": seed,
                 "train.checkpoint_every": CHECKPOINT_EVERY, "train.keep_checkpoints": 1,
                 "train.sample_every": 10**9, "train.log_every": 50,
                 "augment.kind": aug or "none", **sets}
    return build_config(load_yaml(path), overrides, source=str(path))


# ------------------------------------------------------------------------------------------------
# scoring: one code path for every generator
# ------------------------------------------------------------------------------------------------
class NativeSize:
    """A generator as the scorer sees it: its samples resized to the data's native size (bilinear,
    antialiased) when they differ."""

    def __init__(self, generator, size: int) -> None:
        self.inner, self.image_size, self.channels = generator, size, int(generator.channels)
        self.family = getattr(generator, "family", "") or type(generator).__name__

    def parameters(self):
        return self.inner.parameters()

    def generate(self, n: int, seed: int | None = 0, *, batch_size: int = 256, **kw) -> torch.Tensor:
        gen = getattr(self.inner, "generate", None)
        if gen is None:  # a plain network: the package's sampling loop
            from pixelforge.pipelines.sampling import generate_images

            gen = lambda n, **a: generate_images(self.inner, n, **a)  # noqa: E731
        x = gen(n, seed=seed, batch_size=batch_size, **kw)  # [N, C, S, S]
        if x.shape[-1] != self.image_size:
            x = F.interpolate(x.float(), size=(self.image_size, self.image_size), mode="bilinear",
                              antialias=True, align_corners=False).clamp_(-1, 1)
        return x


class RealImages:
    """Real training images posing as a generator: the score a perfect copy of them would get."""

    family = "real-images"

    def __init__(self, data) -> None:
        self.data, self.image_size, self.channels = data, data.image_size, data.channels

    def parameters(self):
        return iter([torch.zeros(())])

    def generate(self, n: int, seed: int | None = 0, **kw) -> torch.Tensor:
        from pixelforge.metrics.images import gather_uint8, sample_indices, to_float

        return to_float(gather_uint8(self.data, sample_indices(len(self.data), n, seed or 0))[0])


_TEST: dict[str, Any] = {}


def score(generator, ds: DataSet, n_gen: int, run_dir: Path | None = None) -> dict[str, Any]:
    """FD / KID / precision / recall of `generator` against the real test split of `ds`."""
    from pixelforge.config import EvalConfig
    from pixelforge.data import load_images
    from pixelforge.metrics import evaluate_generator

    if ds.base not in _TEST:
        _TEST[ds.base] = load_images(str(ds.path), image_size=ds.native, channels=ds.channels,
                                     split="test")
    res = evaluate_generator(NativeSize(generator, ds.native), _TEST[ds.base],
                             EvalConfig(n_generated=n_gen), run_dir=run_dir, data_spec=str(ds.path),
                             split="test", baselines=False)
    out = {k: res.get(k) for k in ("fd", "kid", "kid_std", "precision", "recall",
                                   "extractor_accuracy")}
    out.update(extractor=res["extractor"], n_real=res["n_real"], n_generated=res["n_generated"],
               generator_size=int(generator.image_size), scored_size=ds.native,
               resized=int(generator.image_size) != ds.native)
    return out


# ------------------------------------------------------------------------------------------------
# worker side: one run per process
# ------------------------------------------------------------------------------------------------
class StepClock:
    """Wraps a task class's train_step to time the training loop itself (CPU and wall clock)."""

    def __init__(self, cls) -> None:
        self.steps, self.cpu0, self.cpu1, self.wall0, self.wall1 = 0, None, None, None, None
        orig = cls.train_step

        def timed(task, *a, **kw):
            if self.cpu0 is None:
                self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
            out = orig(task, *a, **kw)
            self.steps += 1
            self.cpu1, self.wall1 = time.process_time(), time.perf_counter()
            return out

        cls.train_step = timed

    def rates(self, batch: int) -> dict[str, float | None]:
        if not self.steps or self.cpu1 is None:
            return {"img_s_cpu": None, "img_s_wall": None, "train_cpu_s": None}
        cpu, wall = self.cpu1 - self.cpu0, self.wall1 - self.wall0
        return {"img_s_cpu": self.steps * batch / max(cpu, 1e-9),
                "img_s_wall": self.steps * batch / max(wall, 1e-9), "train_cpu_s": round(cpu, 2)}


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:500]


def _log_steps(run_dir: Path) -> int:
    """The last step in a run's train_log.jsonl (0 when there is none)."""
    log = run_dir / "train_log.jsonl"
    lines = log.read_text().splitlines() if log.is_file() else []
    return int(json.loads(lines[-1])["step"]) if lines else 0


def train_pixelforge(ds: DataSet, spec: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    import pixelforge
    from pixelforge.checkpoint import latest_checkpoint
    from pixelforge.models import MODELS
    from pixelforge.training import TASKS, Interrupted, train

    cfg = run_config(ds, spec["name"], budget=spec["budget"], seed=spec["seed"],
                     max_steps=spec.get("max_steps") or 10**7)
    clock = StepClock(TASKS.get(MODELS.get(cfg.model.name).kind))
    row: dict[str, Any] = {"config": str(config_path(ds, split_name(spec["name"])[0])
                                         .relative_to(ROOT)),
                           "family": cfg.model.name, "loss": cfg.train.loss,
                           "augment": cfg.augment.kind, "batch_size": cfg.train.batch_size}
    try:
        row["steps"] = train(cfg, run_dir, progress=False).step
    except Interrupted as exc:
        row["steps"] = exc.step
    except Exception as exc:  # divergence, collapse, a bad config: a row, not a crash
        row.update(status="error", error=_error(exc), steps=_log_steps(run_dir))
    row.update(clock.rates(cfg.train.batch_size), rss_train_mib=round(_max_rss_mib(), 1))
    row["img_s_log"] = _median_log_rate(run_dir)
    if latest_checkpoint(run_dir) is None:
        row.setdefault("status", "error")
        row.setdefault("error", "no checkpoint to score")
        return row
    row.update(score(pixelforge.load(run_dir), ds, spec["n_gen"], run_dir))
    row.update(d_real_accuracy(cfg, ds, latest_checkpoint(run_dir)))
    return row


_REALS: dict[tuple, torch.Tensor] = {}


def d_real_accuracy(cfg, ds: DataSet, ckpt: Path | None, n: int = 1000) -> dict[str, float]:
    """How often a checkpoint's D calls real images real: n it trained on against n held-out test
    images, un-augmented, in batches of 64 in training mode (as BatchNorm D sees them in training).
    A wide gap is D memorising its training set, the overfitting DiffAugment and ADA exist to stop
    (Karras et al. 2020, fig. 1). Empty for losses without a real/fake threshold and conditional Ds."""
    from pixelforge.checkpoint import STATE_FILE, load_state
    from pixelforge.data import load_images
    from pixelforge.losses import GAN_LOSSES
    from pixelforge.models import MODELS

    m = cfg.model
    thr = GAN_LOSSES.get(cfg.train.loss)().decision_threshold
    if thr is None or m.conditional or ckpt is None:
        return {}
    d = MODELS.get(m.name).build("discriminator", image_size=m.image_size, channels=m.channels,
                                 latent_dim=m.latent_dim, **m.params)
    d.load_state_dict(load_state(ckpt / STATE_FILE)["task"]["D"])
    d.train()
    out = {}
    for key, split in (("d_acc_train", "train"), ("d_acc_heldout", "test")):
        cache_key = (str(ds.path), m.image_size, m.channels, split, min(n, ds.limit or n))
        if cache_key not in _REALS:  # loaded once per process (gan_overfit scores many checkpoints)
            data = load_images(str(ds.path), image_size=m.image_size, channels=m.channels,
                               split=split, limit=cache_key[-1])
            _REALS[cache_key] = torch.stack([data[i][0] for i in range(len(data))])  # [n, C, H, W]
        x = _REALS[cache_key]
        with torch.no_grad():
            logits = torch.cat([d(x[i:i + 64]).float().flatten() for i in range(0, len(x), 64)])
        out[key] = round((logits > thr).float().mean().item(), 4)
    return out


def _median_log_rate(run_dir: Path) -> float | None:
    log = run_dir / "train_log.jsonl"
    rates = [json.loads(line).get("images_per_s") for line in
             (log.read_text().splitlines() if log.is_file() else [])]
    rates = [r for r in rates if r]
    return statistics.median(rates) if rates else None


def train_baseline_run(ds: DataSet, spec: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from gan_baselines import BASELINES, train_baseline
    from pixelforge.data import load_images

    b = BASELINES[spec["name"]]
    size = ds.native if b["size"] == "native" else TRAIN_SIZE
    data = load_images(str(ds.path), image_size=size, channels=ds.channels, split="train",
                       limit=ds.limit)
    row: dict[str, Any] = {"family": spec["name"], "about": b["about"], "batch_size": 64,
                           "augment": "none"}
    try:
        gen, stats = train_baseline(spec["name"], data.tensors()[0], budget_minutes=spec["budget"],
                                    max_steps=spec.get("max_steps") or 10**9, seed=spec["seed"],
                                    log_path=run_dir / "train_log.jsonl")
    except Exception as exc:
        return {**row, "status": "error", "error": _error(exc), "steps": _log_steps(run_dir)}
    row.update(steps=stats["steps"], img_s_cpu=stats["images_per_cpu_s"],
               img_s_wall=stats["images_per_s"], train_cpu_s=stats["cpu_seconds"],
               rss_train_mib=round(_max_rss_mib(), 1))
    row.update(score(gen, ds, spec["n_gen"], run_dir))
    return row


def reference_rows(ds: DataSet, spec: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    """The ceiling (an untrained dcgan, seeded) and the floor (the real training images)."""
    from pixelforge.data import load_images
    from pixelforge.models import MODELS

    cfg = run_config(ds, "dcgan", budget=None, seed=spec["seed"])
    torch.manual_seed(spec["seed"])
    m = cfg.model
    untrained = MODELS.get(m.name).build("generator", image_size=m.image_size, channels=m.channels,
                                         latent_dim=m.latent_dim, **m.params).eval()
    train = load_images(str(ds.path), image_size=ds.native, channels=ds.channels, split="train",
                        limit=ds.limit)
    subset = f"the {len(train)} training images" if ds.limit else "real train split"
    rows = [{"name": "untrained dcgan", "family": "dcgan", "steps": 0,
             **score(untrained, ds, spec["n_gen"], run_dir)},
            {"name": f"{subset} (real vs real)", "family": "real-images",
             **score(RealImages(train), ds, spec["n_gen"], run_dir)}]
    if ds.native != TRAIN_SIZE:  # what resampling alone costs a model trained at 32 px
        via = load_images(str(ds.path), image_size=TRAIN_SIZE, channels=ds.channels,
                          split="train", limit=ds.limit)
        rows.append({"name": f"{subset} via {TRAIN_SIZE} px (resize round trip)",
                     "family": "real-images",
                     **score(NativeSize(RealImages(via), ds.native), ds, spec["n_gen"], run_dir)})
    return rows


def measure_rate(spec: dict[str, Any]) -> dict[str, Any]:
    """Training img/s of one config (or baseline) on random data for spec['seconds'] CPU seconds."""
    ds = DATASETS[spec["dataset"]]
    g = torch.Generator().manual_seed(0)
    if spec["name"] in BASELINE_NAMES:
        from gan_baselines import BASELINES

        b = BASELINES[spec["name"]]
        size = ds.native if b["size"] == "native" else TRAIN_SIZE
        model, batch, prec = b["cls"](size, ds.channels), 64, "fp32"
        step_fn = model.train_step
    else:
        from pixelforge.core.precision import Precision
        from pixelforge.models import MODELS
        from pixelforge.training import TASKS

        cfg = run_config(ds, spec["name"], budget=None, seed=0)
        family = MODELS.get(cfg.model.name)
        family.check_params(cfg.model.params)
        precision = Precision.resolve(cfg.train.precision, cfg.train.channels_last,
                                      torch.device("cpu"))
        task = TASKS.get(family.kind)(cfg, family, num_classes=10, device=torch.device("cpu"),
                                      precision=precision, num_images=60000)
        size, batch, prec = cfg.model.image_size, cfg.train.batch_size, precision.describe()
        fmt = precision.memory_format

        def step_fn(real, labels, step):
            return task.train_step(real.contiguous(memory_format=fmt), labels, step)

    def one(step: int) -> None:
        real = torch.rand(batch, ds.channels, size, size, generator=g) * 2 - 1
        out = step_fn(real, torch.randint(0, 10, (batch,), generator=g), step)
        [float(v) for v in out.values()]

    for s in range(3):
        one(s)
    cpu0, wall0, steps = time.process_time(), time.perf_counter(), 0
    while time.process_time() - cpu0 < spec["seconds"]:
        one(3 + steps)
        steps += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"dataset": ds.name, "name": spec["name"], "size": size, "batch": batch,
            "precision": prec, "threads": torch.get_num_threads(), "steps": steps,
            "img_s_cpu": steps * batch / cpu, "img_s_wall": steps * batch / wall,
            "rss_mib": round(_max_rss_mib(), 1)}


def worker_main(spec: dict[str, Any]) -> None:
    torch.set_num_threads(spec["threads"])
    run_dir = Path(spec["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    ds = DATASETS[spec["dataset"]]
    base = {"job": spec["job"], "dataset": ds.name, "name": spec["name"], "kind": spec["kind"],
            "budget_min": spec["budget"], "n_gen": spec["n_gen"], "seed": spec["seed"],
            "threads": spec["threads"], "run_dir": str(run_dir)}
    try:
        if spec["kind"] == "rate":
            rows = [measure_rate(spec)]
        elif spec["kind"] == "reference":
            rows = reference_rows(ds, spec, run_dir)
        elif spec["kind"] == "baseline":
            rows = [train_baseline_run(ds, spec, run_dir)]
        else:
            rows = [train_pixelforge(ds, spec, run_dir)]
    except Exception as exc:
        traceback.print_exc()
        rows = [{"status": "error", "error": _error(exc)}]
    rows = [{**base, "status": "ok", **r, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                      time.gmtime())} for r in rows]
    tmp = run_dir / "result.json.tmp"
    tmp.write_text(json.dumps(rows))
    tmp.replace(run_dir / "result.json")


# ------------------------------------------------------------------------------------------------
# parent side: plan, run in parallel, record, report
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    kind: str  # reference | pixelforge | baseline | rate
    dataset: str
    name: str

    def key(self, args) -> str:
        budget = "-" if self.kind == "reference" else args.budget
        return f"{self.dataset}|{self.name}|{budget}|{args.n_gen}|{args.seed}"

    def run_dir(self, args) -> Path:
        tag = "reference" if self.kind == "reference" else f"{self.name}-b{args.budget:g}"
        tag = tag.replace("@", "_").replace("=", "-").replace(",", "_").replace("/", "-")
        return Path(args.out) / "runs" / self.dataset / f"{tag}-n{args.n_gen}-s{args.seed}"


def _registered(ds: DataSet, config: str) -> str | None:
    """None when the config can run, else why not (missing file, unregistered model)."""
    from pixelforge.config import load_yaml
    from pixelforge.models import MODELS

    path = config_path(ds, config)
    if not path.is_file():
        return f"no {path.relative_to(ROOT)}"
    model = (load_yaml(path).get("model") or {}).get("name")
    return None if model in MODELS.names() else f"model {model!r} is not registered yet"


def plan(args) -> list[Job]:
    jobs: list[Job] = []
    for name in args.datasets:
        ds = DATASETS[name]
        jobs.append(Job("reference", name, "reference"))
        for cfg in args.configs:
            if cfg in BASELINE_NAMES:
                jobs.append(Job("baseline", name, cfg))
                continue
            base = split_name(cfg)[0]
            why = _registered(ds, base)
            if why:
                print(f"skip {name}/{cfg}: {why}", file=sys.stderr)
                continue
            names = [cfg]
            if args.augment_ablation and ds.limit and "+" not in cfg and "@" not in cfg:
                names += [f"{cfg}+{a}" for a in AUGMENTS]
            jobs += [Job("pixelforge", name, n) for n in names]
    return jobs


def diagnose(out: Path, args) -> None:
    """Add d_real_accuracy to the newest row of each finished pixelforge run that lacks it (its
    final checkpoint must still be in its run folder); the updated row is appended."""
    from pixelforge.checkpoint import latest_checkpoint

    for rows in latest(read_rows(out), args).values():
        for r in rows:
            if r["kind"] != "pixelforge" or r.get("status") != "ok" or "d_acc_train" in r:
                continue
            ds = DATASETS[r["dataset"]]
            cfg = run_config(ds, r["name"], budget=r["budget_min"], seed=r["seed"])
            acc = d_real_accuracy(cfg, ds, latest_checkpoint(Path(r["run_dir"])))
            if acc:
                print(f"[diagnose] {r['dataset']}/{r['name']}: {acc}", file=sys.stderr)
                with open(out / "results.jsonl", "a") as fh:
                    fh.write(json.dumps({**r, **acc}) + "\n")


def read_rows(out: Path) -> list[dict[str, Any]]:
    path = out / "results.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _spawn(job: Job, args) -> tuple[subprocess.Popen, Path]:
    run_dir = job.run_dir(args)
    if run_dir.exists() and job.kind != "rate":
        import shutil

        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = {"job": job.key(args), "kind": job.kind, "dataset": job.dataset, "name": job.name,
            "budget": args.budget, "n_gen": args.n_gen, "seed": args.seed, "threads": args.threads,
            "max_steps": args.max_steps, "seconds": args.rates, "run_dir": str(run_dir)}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    log = open(run_dir / "worker.log", "w")  # noqa: SIM115  (closed when the child is reaped)
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                         stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    p.log = log  # type: ignore[attr-defined]
    return p, run_dir


def _reap(job: Job, p: subprocess.Popen, run_dir: Path, ru, status: int, args) -> list[dict]:
    """The child's rows plus its whole-process peak RSS and CPU time (from wait4)."""
    p.returncode = os.waitstatus_to_exitcode(status)
    p.log.close()
    extra = {"rss_peak_mib": round(ru.ru_maxrss / 1024, 1),
             "cpu_total_s": round(ru.ru_utime + ru.ru_stime, 1), "exit_code": p.returncode}
    result = run_dir / "result.json"
    if result.is_file():
        return [{**r, **extra} for r in json.loads(result.read_text())]
    tail = (run_dir / "worker.log").read_text().strip().splitlines()[-3:]
    return [{"job": job.key(args), "dataset": job.dataset, "name": job.name, "kind": job.kind,
             "budget_min": args.budget, "n_gen": args.n_gen, "seed": args.seed,
             "threads": args.threads, "status": "error",
             "error": f"worker exited with {p.returncode}: " + " | ".join(tail), **extra}]


def run_jobs(jobs: list[Job], args, record) -> None:
    """Run jobs `args.jobs` at a time; reference jobs of a data set's scorer first (they train
    and cache its extractor, which the runs then share)."""
    first_ref: dict[str, Job] = {}
    for j in jobs:
        if j.kind == "reference":
            first_ref.setdefault(DATASETS[j.dataset].base, j)
    phases = [list(first_ref.values()), [j for j in jobs if j not in first_ref.values()]]
    for phase in phases:
        pending, running = list(phase), {}
        try:
            while pending or running:
                while pending and len(running) < args.jobs:
                    job = pending.pop(0)
                    p, run_dir = _spawn(job, args)
                    running[p.pid] = (job, p, run_dir, time.perf_counter())
                    print(f"[start] {job.dataset}/{job.name} (pid {p.pid})", file=sys.stderr,
                          flush=True)
                for pid in list(running):
                    reaped, status, ru = os.wait4(pid, os.WNOHANG)
                    if reaped == 0:
                        continue
                    job, p, run_dir, t0 = running.pop(pid)
                    rows = _reap(job, p, run_dir, ru, status, args)
                    for r in rows:
                        record(r)
                    fd = ", ".join(f"{r['name']}: FD {r.get('fd')}" for r in rows)
                    print(f"[done ] {job.dataset}/{job.name} in {time.perf_counter() - t0:.0f} s "
                          f"({rows[0].get('status')}; {fd})", file=sys.stderr, flush=True)
                time.sleep(0.5)
        except KeyboardInterrupt:
            for _, p, _, _ in running.values():  # only the workers this run started
                p.kill()
            raise


# -- report --------------------------------------------------------------------------------------
def _f(v, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def latest(rows: list[dict], args) -> dict[str, list[dict]]:
    """Per data set, the newest row of each name for this budget / n_gen / seed."""
    by: dict[str, dict[str, dict]] = {}
    for r in rows:
        if r.get("kind") == "rate" or r.get("n_gen") != args.n_gen or r.get("seed") != args.seed:
            continue
        if r.get("kind") != "reference" and r.get("budget_min") != args.budget:
            continue
        by.setdefault(r["dataset"], {})[r["name"]] = r
    return {d: list(v.values()) for d, v in by.items()}


def print_tables(rows: list[dict], args) -> None:
    print(tables(rows, args.budget, args.n_gen, args.seed))


def json_results(rows: list[dict], args) -> dict:
    """What --json writes: the rows the tables show, with the budget, samples and seed they are
    for (benchmarks/docs_tables.py renders the docs' tables from it with tables())."""
    table_rows = [r for group in latest(rows, args).values() for r in group]
    return {"benchmark": "benchmarks/gan_quality.py", "budget_min": args.budget,
            "n_gen": args.n_gen, "seed": args.seed, "threads": args.threads, "rows": table_rows}


def write_json(out: Path, args) -> None:
    """--json: the results file the docs' GAN tables are generated from."""
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(json_results(read_rows(out), args), indent=1) + "\n")
        print(f"wrote {args.json}; then: .venv/bin/python benchmarks/docs_tables.py",
              file=sys.stderr)


def tables(rows: list[dict], budget: float, n_gen: int, seed: int, level: int = 3) -> str:
    """The markdown tables (one per data set, heading level `level`) and their legend."""
    args = argparse.Namespace(budget=budget, n_gen=n_gen, seed=seed)
    groups = latest(rows, args)
    out: list[str] = []
    add = out.append
    for name in [d for d in DATASETS if d in groups]:
        ds, table = DATASETS[name], groups[name]
        table.sort(key=lambda r: (r.get("fd") is None, r.get("fd") or 0.0))
        add(f"\n{'#' * level} {name}: {args.budget:g} CPU-minutes per run, {args.n_gen} samples, "
              f"scored at {ds.native} px on the test split\n")
        d_acc = any("d_acc_train" in r for r in table)  # the overfitting columns, where measured
        add("| run | kind | steps | img/s (CPU) | RSS MiB train / peak | FD | KID | precision | "
              f"recall | {'D real acc train / held-out | ' if d_acc else ''}notes |")
        add(f"|---|---|---:|---:|---:|---:|---:|---:|---:|{'---:|' if d_acc else ''}---|")
        for r in table:
            ref = r["kind"] == "reference"
            label = f"_{r['name']}_" if ref else r["name"]
            rss = "-" if ref else f"{_f(r.get('rss_train_mib'), '.0f')} / {_f(r.get('rss_peak_mib'), '.0f')}"
            notes = []
            if r.get("status") != "ok":
                notes.append(f"**{r.get('error', 'error')}**")
            if r.get("resized"):
                notes.append(f"{r['generator_size']}->{r['scored_size']} px")
            add(f"| {label} | {r['kind']} | {_f(r.get('steps'), 'd')} | "
                  f"{_f(r.get('img_s_cpu'), '.0f')} | {rss} | "
                  f"{_f(r.get('fd'), '.2f')} | {_f(r.get('kid'), '.3g')} | "
                  f"{_f(r.get('precision'), '.3f')} | {_f(r.get('recall'), '.3f')} | "
                  + (f"{_f(r.get('d_acc_train'), '.2f')} / {_f(r.get('d_acc_heldout'), '.2f')} | "
                     if d_acc else "")
                  + f"{'; '.join(notes)} |")
        ok = [r for r in table if r.get("status") == "ok" and r.get("fd") is not None]
        best = min((r for r in ok if r["kind"] == "pixelforge"), key=lambda r: r["fd"], default=None)
        ratios = [f"{best['fd'] / b['fd']:.2f} x {b['name']}'s {b['fd']:.2f}" for b in ok
                  if best and b["name"] in BASELINE_NAMES]
        if ratios:
            add(f"\nbest pixelforge config: {best['name']}, FD {best['fd']:.2f} = "
                  + "; ".join(ratios))
    add("\nFD/KID/precision/recall: pixelforge.metrics.evaluate_generator in the features of the "
          "`cnn` extractor trained on the real train split (not Inception: not comparable to "
          "published FIDs). a->b px: samples resized bilinear (antialiased) before scoring. "
          "img/s (CPU): images through D per second of process CPU time in the training loop. "
          "RSS: the worker's peak resident set after training / over its whole life (incl. "
          "scoring). KID: raw units of these features. Italic rows are references: an "
          "untrained dcgan (ceiling), real training images scored as if generated (floor), and "
          "the same images resized to 32 px and back (the floor of a model trained at 32 px). D real "
          "acc: how often the final D calls real images real, 1000 it trained on / 1000 held-out "
          "test images (a wide gap: D memorised its training set).")
    return "\n".join(out).lstrip("\n")


def print_rates(rows: list[dict]) -> None:
    print("\n| data | config | size | batch | precision | threads | img/s (CPU) | img/s (wall) | "
          "RSS MiB |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        if r.get("status") != "ok":
            print(f"| {r['dataset']} | {r['name']} | | | | | **{r.get('error')}** | | |")
            continue
        print(f"| {r['dataset']} | {r['name']} | {r['size']} | {r['batch']} | {r['precision']} | "
              f"{r['threads']} | {r['img_s_cpu']:.0f} | {r['img_s_wall']:.0f} | "
              f"{r['rss_mib']:.0f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--budget", type=float, default=None, help="CPU-minutes per run (default 10)")
    ap.add_argument("--datasets", nargs="+", default=None, choices=list(DATASETS))
    ap.add_argument("--configs", nargs="+", default=None,
                    help=f"configs ({', '.join(CONFIGS)}; '<config>+diffaugment' / '+ada' for an "
                    f"augmented variant) and baselines ({', '.join(BASELINE_NAMES)}); default all")
    ap.add_argument("--augment-ablation", action="store_true",
                    help="on the -1k data sets, also run each config with DiffAugment and ADA")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (separate processes)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--n-gen", type=int, default=None, help="generated samples scored (5000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=None, help="also stop runs after N steps")
    ap.add_argument("--out", default=None, help="default runs/bench/gan_quality")
    ap.add_argument("--force", action="store_true",
                    help="rerun every planned run, even those in results.jsonl (retrains them)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny check: 0.2 CPU-min, 500 samples, mnist, dcgan + both baselines")
    ap.add_argument("--report", action="store_true", help="only print the tables")
    ap.add_argument("--diagnose", action="store_true",
                    help="measure D's real accuracy (trained-on vs held-out images) for finished "
                    "runs recorded without it, append the updated rows, print the tables")
    ap.add_argument("--rates", type=float, default=None, metavar="SECONDS",
                    help="only measure each config's training img/s for SECONDS of CPU time")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the tables' rows here (benchmarks/results/gan_quality_"
                    "<budget>min.json; benchmarks/docs_tables.py makes the docs' tables from it)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:
        worker_main(json.loads(args.worker))
        return 0
    smoke = args.smoke
    args.budget = args.budget or (0.2 if smoke else 10.0)
    args.n_gen = args.n_gen or (500 if smoke else 5000)
    args.datasets = args.datasets or (["mnist"] if smoke or args.rates else list(DATASETS))
    args.configs = args.configs or (["dcgan", *BASELINE_NAMES] if smoke
                                    else [*CONFIGS, *BASELINE_NAMES])
    for name in args.configs:
        if name in BASELINE_NAMES:
            continue
        try:
            base, aug, _ = split_name(name)
        except ValueError as exc:
            ap.error(str(exc))
        known = base in CONFIGS or any(CONFIG_DIR.glob(f"*_{base.replace('-', '_')}.yaml"))
        if not known or (aug and aug not in AUGMENTS):
            ap.error(f"--configs: unknown {name!r}; configs: {', '.join(CONFIGS)} (optionally "
                     f"+{' / +'.join(AUGMENTS)}, then @key=value,... to set config fields); "
                     f"baselines: {', '.join(BASELINE_NAMES)}")
    out = Path(args.out or ("runs/bench/gan_quality_smoke" if smoke else "runs/bench/gan_quality"))
    args.out = str(out)
    if args.rates:
        rows: list[dict] = []
        jobs = [Job("rate", d, c) for d in args.datasets for c in args.configs
                if c in BASELINE_NAMES or not _registered(DATASETS[d], split_name(c)[0])]
        for job in jobs:  # one at a time: rates are for comparing configs
            p, run_dir = _spawn(job, args)
            _, status, ru = os.wait4(p.pid, 0)
            rows += _reap(job, p, run_dir, ru, status, args)
        print_rates(rows)
        return 0
    if args.report or args.diagnose:
        if args.diagnose:
            diagnose(out, args)
        print_tables(read_rows(out), args)
        write_json(out, args)
        return 0
    missing = {DATASETS[d].path for d in args.datasets if not DATASETS[d].path.is_file()}
    if missing:
        print(f"SKIP data sets whose file is absent: {', '.join(map(str, missing))}", file=sys.stderr)
        args.datasets = [d for d in args.datasets if DATASETS[d].path not in missing]
    out.mkdir(parents=True, exist_ok=True)
    done = {r.get("job") for r in read_rows(out)}
    jobs = [j for j in plan(args) if args.force or j.key(args) not in done]
    print(f"{len(jobs)} runs to do ({args.jobs} at a time, {args.threads} thread(s) each, "
          f"{args.budget:g} CPU-min budget); results in {out / 'results.jsonl'}", file=sys.stderr)

    def record(row: dict) -> None:
        with open(out / "results.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")

    run_jobs(jobs, args, record)
    print_tables(read_rows(out), args)
    write_json(out, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
