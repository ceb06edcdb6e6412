"""The one training loop: data, progress, samples, TensorBoard, atomic checkpoints, exact resume."""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from pixelforge import __version__
from pixelforge.checkpoint import (
    CKPT_DIR,
    STATE_FILE,
    atomic_write_text,
    checkpoint_name,
    commit_checkpoint_dir,
    latest_checkpoint,
    load_state,
    save_state,
    write_components,
)
from pixelforge.config import RunConfig, dump_config
from pixelforge.core.precision import Precision
from pixelforge.data.builders import build_dataset
from pixelforge.errors import TrainingDiverged, UserError
from pixelforge.models import MODELS
from pixelforge.nn.perf import PERF, tune_cpu_allocator
from pixelforge.training import gan, restore, translate, vae  # noqa: F401  (register the tasks)
from pixelforge.training.batches import batch_stream
from pixelforge.training.health import HealthMonitor, Problem
from pixelforge.training.task import TASKS, Task

log = logging.getLogger("pixelforge.train")


class _Rollback(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class Interrupted(Exception):
    """Ctrl-C during training; a checkpoint was saved at `step`."""

    def __init__(self, step: int, checkpoint: Path | None) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step, self.checkpoint = step, checkpoint


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    checkpoint: Path | None
    seconds: float
    images_per_second: float
    last_logs: dict[str, float]


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "numpy_pos": int(np_state[2]), "python": json.dumps(random.getstate())}


def _set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    np.random.set_state(("MT19937", s["numpy_keys"].numpy().astype(np.uint32), s["numpy_pos"], 0, 0.0))
    py = json.loads(s["python"])
    random.setstate((py[0], tuple(py[1]), py[2]))


class Trainer:
    """Runs any registered model kind's Task under Accelerate (one CPU, or DDP via accelerate launch)."""

    def __init__(self, cfg: RunConfig, run_dir: str | Path, *, resume: bool = False,
                 progress: bool = True) -> None:
        from pixelforge.recipes import resolve_and_log

        cfg = resolve_and_log(cfg)  # unset channels / size / recipe from the data, as the CLI does
        self.cfg, self.run_dir, self.resume, self.progress = cfg, Path(run_dir), resume, progress
        self.family = MODELS.get(cfg.model.name)
        self.family.check_params(cfg.model.params)
        if self.family.kind not in TASKS:
            raise UserError(f"model {cfg.model.name!r} ({self.family.kind}) cannot be trained "
                            f"with `pixelforge train`; trainable kinds: {', '.join(TASKS.names())}")

    # -- set-up ---------------------------------------------------------------------------------
    def _setup(self) -> None:
        from accelerate import Accelerator

        self.acc = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision="no")
        self.device = self.acc.device
        self.main = self.acc.is_main_process
        c = self.cfg
        # Python's and numpy's global RNGs are part of the saved state: seed them, so an interrupted
        # and resumed run ends bit-equal to an uninterrupted one (a resume restores them below)
        random.seed(c.train.seed)
        np.random.seed(c.train.seed)
        self.precision = Precision.resolve(c.train.precision, c.train.channels_last, self.device)
        if self.device.type == "cpu" and PERF.tune_allocator:
            applied = tune_cpu_allocator()  # no page faults on re-allocated activations
            if self.main:
                log.info("CPU allocator tuning (nn.perf.PERF.tune_allocator): %s",
                         "applied" if applied else "not available on this platform")
        task_cls = TASKS.get(self.family.kind)
        self.data = build_dataset(task_cls.data_kind, c)
        self._fit_batch_to_data()
        c = self.cfg
        self.task: Task = task_cls(
            c, self.family, num_classes=self.data.num_classes, device=self.device,
            precision=self.precision, num_images=self.data.num_images)
        self.start_step, self.lr_scale, self.rollbacks = 0, 1.0, 0
        self.health = HealthMonitor(c.health, self.data.reference(64),  # [n, C, H, W]
                                    loss_key=self.task.health_loss_key)
        if self.resume:
            self._load_latest()
        elif c.train.init:  # fine-tuning: start from another run's (or a shipped model's) weights
            log.info("initialised from %s", self.task.init_from(c.train.init))
        self.task.prepare(self.acc)
        self.writer = None
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir / "config.yaml", dump_config(c))
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def _fit_batch_to_data(self) -> None:
        """Small data trains: a batch larger than the data (per process) is capped at the data
        size, with a warning; the capped value is what config.yaml records. Each step then sees
        every image once, in a fresh order per step (the sampler's epochs are one step long)."""
        world, n = self.acc.num_processes, len(self.data)
        want = self.cfg.train.batch_size
        if n >= want * world:
            return
        if n < world:
            raise UserError(f"data {self.cfg.data.path!r} has {n} images, fewer than the "
                            f"{world} processes")
        capped = n // world
        if self.main:
            log.warning("data %r has %d images, fewer than one batch (train.batch_size=%d x %d "
                        "processes): batch size capped at %d", self.cfg.data.path, n, want, world,
                        capped)
        self.cfg = self.cfg.model_copy(deep=True)
        self.cfg.train.batch_size = capped

    def _load_latest(self) -> Path:
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is None:
            raise UserError(f"--resume: no checkpoint in {self.run_dir / CKPT_DIR}")
        state = load_state(ckpt / STATE_FILE)
        self.task.load_state_dict(state["task"])
        _set_rng_state(state["rng"])
        self.start_step = int(state["step"])
        self.lr_scale = float(state.get("lr_scale", 1.0))
        log.info("resumed from %s at step %d", ckpt, self.start_step)
        return ckpt

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, step: int, elapsed: float) -> Path | None:
        """Write export + full training state into a temp folder, then rename it into place."""
        self.acc.wait_for_everyone()
        final = None
        if self.main:
            root = self.run_dir / CKPT_DIR
            final = root / checkpoint_name(step)
            tmp = root / (final.name + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            write_components(tmp, self.task.components(), model=self.cfg.model.name,
                             kind=self.family.kind, pipeline=self.task.pipeline)
            save_state(tmp / STATE_FILE, {"task": self.task.state_dict(), "rng": _rng_state(),
                                          "step": step, "lr_scale": self.lr_scale})
            meta = {"step": step, "images_seen": step * self.cfg.train.batch_size * self.acc.num_processes,
                    "train_seconds": round(elapsed, 2), "pixelforge_version": __version__,
                    "precision": self.precision.describe(), "data": self.data.description,
                    "config": self.cfg.model_dump(mode="json")}
            atomic_write_text(tmp / "meta.json", json.dumps(meta, indent=2))
            commit_checkpoint_dir(tmp, final, keep=self.cfg.train.keep_checkpoints)
        self.acc.wait_for_everyone()
        return final

    def _save_samples(self, step: int) -> None:
        from pixelforge.core.images import grid_rows, grid_tensor, save_grid

        n = self.cfg.train.n_samples
        grids = self.task.preview(n, seed=self.cfg.train.seed)
        path = self.run_dir / "samples" / f"step-{step:07d}.png"
        path.parent.mkdir(exist_ok=True)
        nrow = grid_rows(n)
        for name, images in grids.items():
            # the writer and layout of `pixelforge sample`: identical bytes for the same images
            save_grid(images, path if name == "samples" else path.parent / f"{name}-{path.name}",
                      nrow=nrow)
            if self.writer:
                self.writer.add_image(name, grid_tensor(images, nrow=nrow), step)

    # -- the loop -------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        self._setup()
        c = self.cfg.train
        if self.start_step >= c.steps:
            log.info("nothing to do: already at step %d of %d", self.start_step, c.steps)
        if self.main:
            log.info("data: %s", self.data.description)
            log.info("model %s on %s (%s), %d processes", self.cfg.model.name, self.device,
                     self.precision.describe(), self.acc.num_processes)
        self.bar = tqdm(total=c.steps, initial=self.start_step, disable=not (self.main and self.progress),
                        unit="step", dynamic_ncols=True, desc=self.cfg.model.name)
        self.t0 = time.perf_counter()
        self.clock0 = _clock(c.budget_clock)
        step, self.last_ckpt, self.logs = self.start_step, None, {}
        self.step, self.steps_done = step, 0
        try:
            while True:
                try:
                    step = self._run(self.start_step)
                    break
                except _Rollback as rb:
                    self._roll_back(rb.problem)
        except KeyboardInterrupt:
            self.bar.close()
            step = self.step
            ckpt = self.save_checkpoint(step, time.perf_counter() - self.t0) if step > self.start_step else None
            raise Interrupted(step, ckpt or latest_checkpoint(self.run_dir)) from None
        finally:
            self.bar.close()
            if self.writer:
                self.writer.close()
        elapsed = time.perf_counter() - self.t0
        global_batch = c.batch_size * self.acc.num_processes
        return TrainResult(self.run_dir, step, self.last_ckpt or latest_checkpoint(self.run_dir), elapsed,
                           self.steps_done * global_batch / max(elapsed, 1e-9), self.logs)

    def _run(self, start: int) -> int:
        """Steps from `start` until train.steps or the time budget; returns the last step."""
        c = self.cfg.train
        batches = batch_stream(self.data, c.batch_size, c.seed, start, self.acc.process_index,
                               self.acc.num_processes, self.cfg.data.num_workers)
        global_batch = c.batch_size * self.acc.num_processes
        self.step = step = start
        win_t, win_steps = time.perf_counter(), 0
        while step < c.steps:
            batch = self._to_device(next(batches))
            out = self.task.train_step(batch, step)
            vals = torch.stack([v.float() for v in out.values()])
            if self.acc.num_processes > 1:
                vals = self.acc.reduce(vals, reduction="mean")
            logs = dict(zip(out, vals.tolist(), strict=True))
            self._check(self.health.check_losses(logs, step + 1))
            self.step = step = step + 1
            self.steps_done += 1
            win_steps += 1
            self.bar.update(1)
            if self.health.due(step):
                images = self.task.health_images(64, seed=c.seed + 1)
                if images is not None:
                    self._check(self.health.check_samples(images, step))
            out_of_time = self._out_of_time(step)
            if step % c.log_every == 0 or step == c.steps or out_of_time:
                now = time.perf_counter()
                logs["images_per_s"] = win_steps * global_batch / max(now - win_t, 1e-9)
                if self.health.last_diversity is not None:
                    logs["diversity"] = self.health.last_diversity
                win_t, win_steps = now, 0
                self._log(step, logs, self.bar)
            self.logs = logs
            if self.main and (step % c.sample_every == 0 or step == c.steps or out_of_time):
                self._save_samples(step)
            if step % c.checkpoint_every == 0 or step == c.steps or out_of_time:
                self.last_ckpt = self.save_checkpoint(step, time.perf_counter() - self.t0)
            if out_of_time:
                if self.main:
                    log.info("time budget of %g %s minutes used at step %d; stopped",
                             c.time_budget, c.budget_clock, step)
                break
        return step

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every tensor to the device; image batches ([N, C, H, W] floats) in the run's layout."""
        fmt = self.precision.memory_format
        out = {}
        for k, v in batch.items():
            v = v.to(self.device, non_blocking=True)
            out[k] = v.contiguous(memory_format=fmt) if v.dim() == 4 and v.is_floating_point() else v
        return out

    def _out_of_time(self, step: int) -> bool:
        """train.time_budget reached; under DDP decided on the main process at log steps, so every
        rank stops at the same step."""
        c = self.cfg.train
        if c.time_budget is None:
            return False
        if self.acc.num_processes > 1 and step % c.log_every:
            return False
        over = float(_clock(c.budget_clock) - self.clock0 >= c.time_budget * 60)
        if self.acc.num_processes > 1:
            over = self.acc.reduce(torch.tensor([over], device=self.device), reduction="sum").item()
        return over > 0

    def _check(self, problem: Problem | None) -> None:
        """Act on a health problem as health.action says: warn, stop, or roll back."""
        if problem is None:
            return
        h = self.cfg.health
        if h.action == "rollback" and self.rollbacks < h.max_rollbacks:
            raise _Rollback(problem)
        if problem.fatal or h.action != "warn":
            extra = (f"; gave up after {self.rollbacks} rollbacks (health.max_rollbacks)"
                     if h.action == "rollback" else "")
            raise TrainingDiverged(f"{problem.message}{extra}; the last good checkpoint is kept in "
                                   f"{self.run_dir / CKPT_DIR}")
        if self.main:
            log.warning("health: %s", problem.message)

    def _roll_back(self, problem: Problem) -> None:
        """Restore the latest checkpoint and continue with lower learning rates."""
        h = self.cfg.health
        if latest_checkpoint(self.run_dir) is None:
            raise TrainingDiverged(f"{problem.message}; no checkpoint to roll back to yet (the first "
                                   f"comes at step {self.cfg.train.checkpoint_every})")
        wanted = self.lr_scale * h.lr_factor
        ckpt = self._load_latest()  # sets start_step, RNG and lr_scale as saved
        ckpt_scale = self.lr_scale
        self.task.scale_learning_rate(wanted / ckpt_scale)
        self.lr_scale = wanted
        self.rollbacks += 1
        self.health.reset()
        self.bar.reset(total=self.cfg.train.steps)
        self.bar.update(self.start_step)
        if self.main:
            log.warning("health: %s -> rolled back to %s; learning rates now x%g of the configured "
                        "ones (rollback %d of %d)", problem.message, ckpt.name, self.lr_scale,
                        self.rollbacks, h.max_rollbacks)

    def _log(self, step: int, logs: dict[str, float], bar: tqdm) -> None:
        if not self.main:
            return
        bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items()}, refresh=False)
        for k, v in logs.items():
            self.writer.add_scalar(f"train/{k}", v, step)
        with open(self.run_dir / "train_log.jsonl", "a") as fh:
            fh.write(json.dumps({"step": step, **{k: round(v, 6) for k, v in logs.items()}}) + "\n")


def _clock(kind: str) -> float:
    return time.process_time() if kind == "cpu" else time.perf_counter()


def train(cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train `cfg` into `run_dir` (the Python API behind `pixelforge train`)."""
    return Trainer(cfg, run_dir, resume=resume, progress=progress).fit()
