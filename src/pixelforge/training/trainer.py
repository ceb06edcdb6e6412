"""The one training loop: data, progress, samples, TensorBoard, atomic checkpoints, exact resume."""

from __future__ import annotations

import itertools
import json
import logging
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from pixelforge import __version__
from pixelforge.checkpoint import (
    STATE_FILE,
    latest_checkpoint,
    load_state,
    resolve_checkpoint,
    save_state,
    write_components,
)
from pixelforge.config import RunConfig, dump_config
from pixelforge.core.files import atomic_write_text
from pixelforge.core.precision import Precision
from pixelforge.data.shards import check_same_shards, shard_fingerprint
from pixelforge.errors import TrainingDiverged, UserError
from pixelforge.models import MODELS
from pixelforge.nn.perf import tune_cpu_allocator
from pixelforge.rundir import META_FILE, RunDir
from pixelforge.training import privacy
from pixelforge.training.batches import batch_stream
from pixelforge.training.budget import TimeBudget
from pixelforge.training.health import HealthMonitor, Problem
from pixelforge.training.stop import StopRequest, exit_code
from pixelforge.training.task import Task, pipeline_name, task_class, task_dataset

log = logging.getLogger("pixelforge.train")


class _Rollback(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class Interrupted(Exception):
    """Training stopped by a signal (training/stop.py): `saved` says whether `checkpoint` was
    written at `step` now (a graceful stop) or is an older one (a second Ctrl-C stops at once)."""

    def __init__(self, step: int, checkpoint: Path | None, *, signum: int = signal.SIGINT,
                 saved: bool = True) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step, self.checkpoint, self.signum, self.saved = step, checkpoint, signum, saved

    @property
    def exit_code(self) -> int:
        return exit_code(self.signum)


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
                 progress: bool = True, tune_allocator: bool = True) -> None:
        from pixelforge.recipes import log_notes

        cfg, notes = prepare_config(cfg)  # a no-op (no notes) for a config the CLI prepared
        log_notes(notes)
        self.cfg, self.run_dir, self.resume, self.progress = cfg, Path(run_dir), resume, progress
        self.tune_allocator = tune_allocator
        self.run = RunDir(self.run_dir)
        self.family = MODELS.get(cfg.model.name)

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
        if self.device.type == "cpu" and self.tune_allocator:
            applied = tune_cpu_allocator()  # no page faults on re-allocated activations
            if self.main:
                log.info("CPU allocator tuning (--tune-allocator): %s",
                         "applied" if applied else "not available on this platform")
        task_cls = task_class(self.family)  # as the family's kind declares (pixelforge.kinds)
        if c.privacy is not None:  # DP-SGD: the task's private version (training/privacy.py)
            from pixelforge.training.private_tasks import private_task_class

            task_cls = private_task_class(task_cls, c, self.family.kind, self.acc.num_processes)
        self.data = task_dataset(self.family, c)
        self._fit_batch_to_data()
        c = self.cfg
        self.task: Task = task_cls(
            c, self.family, num_classes=self.data.num_classes, device=self.device,
            precision=self.precision, num_images=self.data.num_images)
        self.start_step, self.lr_scale, self.rollbacks = 0, 1.0, 0
        self.health = HealthMonitor(c.health, self.data.reference(64),  # [n, C, H, W]
                                    loss_key=self.task.health_loss_key)
        if self.resume and self._resume_point() is not None:
            self._load_latest()
        else:
            if self.resume and self.main:  # a first start, or a kill before the first checkpoint
                log.info("--resume: %s holds no checkpoint yet; starting from step 0",
                         self.run_dir)
            self.task.begin(self.data)  # e.g. DP-MERF's one read of the data
            if c.train.init:  # fine-tuning: start from another run's (or a shipped model's) weights
                log.info("initialised from %s", self.task.init_from(c.train.init))
        if c.privacy is not None:  # stop before the budget would be exceeded
            self.cfg = c = privacy.cap_steps(c, self.task.plan)
        self.task.prepare(self.acc)
        self.writer = None
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.run.write_config(dump_config(c))
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run.tensorboard))

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

    def _resume_point(self) -> Path | None:
        """The checkpoint --resume continues from; None when the run has none yet. A `latest`
        pointer naming no complete checkpoint is refused (resolve_checkpoint says what is wrong)."""
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is None and self.run.latest_pointer.exists():
            resolve_checkpoint(self.run_dir)
        return ckpt

    def _load_latest(self) -> Path:
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is None:
            raise UserError(f"resume=True: no checkpoint in {self.run.checkpoints}", field="resume")
        privacy.check_resume(ckpt, self.cfg)
        meta_file = ckpt / META_FILE  # shards: the same set, or the unseen samples differ
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        check_same_shards(meta.get("shards"), self.cfg.data.path, meta_file)
        state = load_state(ckpt / STATE_FILE)
        self.task.load_state_dict(state["task"])
        self._rebase_learning_rates(meta.get("config", {}).get("train", {}))
        _set_rng_state(state["rng"])
        self.start_step = int(state["step"])
        self.lr_scale = float(state.get("lr_scale", 1.0))
        log.info("resumed from %s at step %d", ckpt, self.start_step)
        return ckpt

    def _rebase_learning_rates(self, saved: dict) -> None:
        """train.lr_g / lr_d changed since the checkpoint (`saved`: its train config), e.g.
        `--resume --train.lr_g 1e-4`, a step decay: the restored optimizers take the new rates,
        rollbacks kept."""
        ratios = {}
        for key in ("lr_g", "lr_d"):
            old, new = saved.get(key), getattr(self.cfg.train, key)
            if isinstance(old, (int, float)) and old > 0 and old != new:
                ratios[key] = new / old
                if self.main:
                    log.info("resume: train.%s %g -> %g from this step on", key, old, new)
        if ratios:
            self.task.rebase_learning_rates(ratios)

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, step: int, elapsed: float) -> Path | None:
        """Write export + full training state into a temp folder, then rename it into place."""
        self.acc.wait_for_everyone()
        final = None
        if self.main:
            tmp = self.run.temp_dir(step)
            tmp.mkdir(parents=True, exist_ok=True)
            write_components(tmp, self.task.components(), model=self.cfg.model.name,
                             kind=self.family.kind, pipeline=pipeline_name(self.family))
            save_state(tmp / STATE_FILE, {"task": self.task.state_dict(), "rng": _rng_state(),
                                          "step": step, "lr_scale": self.lr_scale})
            meta = {"step": step, "images_seen": step * self.cfg.train.batch_size * self.acc.num_processes,
                    "train_seconds": round(elapsed, 2), "pixelforge_version": __version__,
                    "precision": self.precision.describe(), "data": self.data.description,
                    "shards": shard_fingerprint(self.cfg.data.path),
                    "config": self.cfg.model_dump(mode="json")}
            if self.cfg.privacy is not None:  # the accounting, in the index and the meta
                meta["privacy"] = self.task.plan.record(step)
                privacy.stamp_checkpoint(tmp, meta["privacy"])
            atomic_write_text(tmp / META_FILE, json.dumps(meta, indent=2))
            final = self.run.commit(step, keep=self.cfg.train.keep_checkpoints)
        self.acc.wait_for_everyone()
        return final

    def _save_samples(self, step: int) -> None:
        from pixelforge.core.images import grid_rows, grid_tensor, save_grid

        n = self.cfg.train.n_samples
        grids = self.task.preview(n, seed=self.cfg.train.seed)
        self.run.samples.mkdir(exist_ok=True)
        nrow = grid_rows(n)
        for name, images in grids.items():
            # the writer and layout of `pixelforge sample`: identical bytes for the same images
            save_grid(images, self.run.sample_grid(step, name), nrow=nrow)
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
            if self.cfg.privacy is not None:
                log.info("%s", self.task.plan.describe())
        self.bar = tqdm(total=c.steps, initial=self.start_step, disable=not (self.main and self.progress),
                        unit="step", dynamic_ncols=True, desc=self.cfg.model.name)
        self.t0 = time.perf_counter()
        self.budget = TimeBudget(c.time_budget, c.budget_clock, param_bytes=_state_bytes(self.task))
        step, self.last_ckpt, self.logs = self.start_step, None, {}
        self.step, self.steps_done = step, 0
        try:
            with StopRequest() as self.stop:
                while True:
                    try:
                        step = self._run(self.start_step)
                        break
                    except _Rollback as rb:
                        self._roll_back(rb.problem)
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once, keep the latest checkpoint
            self.bar.close()
            raise Interrupted(self.step, latest_checkpoint(self.run_dir), saved=False) from None
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
        if not self.task.reads_batches:  # the task read its data once, in `begin`
            batches = itertools.repeat({})
        elif self.cfg.privacy is not None:  # Poisson sampling, as the accountant assumes
            batches = privacy.poisson_batches(self.data, self.task.plan.sample_rate, c.seed, start)
        else:
            batches = batch_stream(self.data, c.batch_size, c.seed, start,
                                   self.acc.process_index, self.acc.num_processes,
                                   self.cfg.data.num_workers)
        global_batch = c.batch_size * self.acc.num_processes
        self.step = step = start
        win_t, win_steps = time.perf_counter(), 0
        while step < c.steps:
            self.budget.step_started()
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
            self.budget.step_ended()
            signalled, out_of_time = self._should_stop(step)
            if signalled and step < c.steps:  # at the last step: finish as usual
                raise Interrupted(step, self._timed_checkpoint(step), signum=self.stop.signum)
            if step % c.log_every == 0 or step == c.steps or out_of_time:
                now = time.perf_counter()
                logs["images_per_s"] = win_steps * global_batch / max(now - win_t, 1e-9)
                if self.health.last_diversity is not None:
                    logs["diversity"] = self.health.last_diversity
                win_t, win_steps = now, 0
                self._log(step, logs, self.bar)
            self.logs = logs
            final = step == c.steps or out_of_time
            if final or (step % c.checkpoint_every == 0 and self._periodic_write_fits(step)):
                self.last_ckpt = self._timed_checkpoint(step)
                if not final:  # the write took time: is there still room for a step?
                    signalled, out_of_time = self._should_stop(step, now=True)
                    if signalled:
                        raise Interrupted(step, self.last_ckpt, signum=self.stop.signum)
                    final = out_of_time
            if step % c.sample_every == 0 or final:
                self._timed_samples(step)
            if out_of_time:
                if self.main:
                    log.info("time budget of %g %s minutes: stopped at step %d after %.1f s, "
                             "final checkpoint included", c.time_budget, c.budget_clock, step,
                             self.budget.used())
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

    def _should_stop(self, step: int, *, now: bool = False) -> tuple[bool, bool]:
        """(a stop signal arrived, the time budget allows no further step). Under DDP both are
        decided at log steps (or `now`, where every rank asks) and agreed over all ranks, so
        every rank stops at the same step."""
        c = self.cfg.train
        world = self.acc.num_processes
        if world > 1 and step % c.log_every and not now:
            return False, False
        ahead = c.log_every - step % c.log_every if world > 1 else 1  # steps to the next decision
        over = self.budget.stop_before_next_step(ahead)
        flags = torch.tensor([float(self.stop.requested), float(over)])
        if world > 1:
            flags = self.acc.reduce(flags.to(self.device), reduction="sum").cpu()
            if flags[0] > 0 and not self.stop.requested:  # another rank got the signal
                self.stop.signum = signal.SIGTERM
        return bool(flags[0] > 0), bool(flags[1] > 0)

    def _periodic_write_fits(self, step: int) -> bool:
        """A periodic checkpoint is skipped when it would push the final one past the budget."""
        fits = torch.tensor([float(self.budget.periodic_write_fits())])
        if self.acc.num_processes > 1:  # every rank must agree: the write waits for all of them
            fits = self.acc.reduce(fits.to(self.device), reduction="sum").cpu()
        if fits.item() == self.acc.num_processes:
            return True
        if self.main:
            log.info("step %d: periodic checkpoint skipped, it would overrun the time budget; "
                     "the final checkpoint follows", step)
        return False

    def _timed_checkpoint(self, step: int) -> Path | None:
        t = time.perf_counter(), self.budget.used()
        path = self.save_checkpoint(step, t[0] - self.t0)
        self.budget.timed("checkpoint", self.budget.used() - t[1])
        return path

    def _timed_samples(self, step: int) -> None:
        t = self.budget.used()
        if self.main:
            self._save_samples(step)
        self.budget.timed("samples", self.budget.used() - t)

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
                                   f"{self.run.checkpoints}")
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
        self.run.append_log({"step": step, **{k: round(v, 6) for k, v in logs.items()}})


def _state_bytes(task: Task) -> int:
    """Bytes of every tensor in the task's training state (what a checkpoint write holds)."""
    def walk(obj: Any) -> int:
        if isinstance(obj, torch.Tensor):
            return obj.numel() * obj.element_size()
        if isinstance(obj, dict):
            return sum(walk(v) for v in obj.values())
        if isinstance(obj, (list, tuple)):
            return sum(walk(v) for v in obj)
        return 0
    return walk(task.state_dict())


def check_trainable(cfg: RunConfig) -> None:
    """Everything about the model train would refuse: name, params, trainable kind."""
    family = MODELS.get(cfg.model.name)
    family.check_params(cfg.model.params)
    task_class(family)  # a UserError when the family's kind declares no Task


def prepare_config(cfg: RunConfig) -> tuple[RunConfig, list[str]]:
    """The config a training of `cfg` runs, and what was chosen for it: the model checked
    trainable, the data spec checked, then unset channels, size and recipe fields resolved from
    the data (recipes.resolve_run_config; idempotent). The CLI calls it before --dry-run."""
    from pixelforge.data.spec import check_spec
    from pixelforge.recipes import resolve_run_config

    check_trainable(cfg)
    check_spec(cfg.data.path)
    return resolve_run_config(cfg)


def leave_process_group(*, synchronise: bool) -> None:
    """End this process's part in a multi-process run before the interpreter exits: wait for
    the other ranks (when all of them finished or stopped together) and destroy the process
    group. Left to exit, gloo's worker threads are torn down while still joinable, which aborts
    the process ("terminate called without an active exception", exit -6) after a run that
    succeeded. A no-op in a single process."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    if synchronise:
        dist.barrier()
    dist.destroy_process_group()


def train(cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
          tune_allocator: bool = True) -> TrainResult:
    """Train `cfg` into `run_dir` (the Python API behind `pixelforge train`). With `resume`, go
    on from the run's latest checkpoint, or start at step 0 when it has none yet.
    `tune_allocator`: keep freed memory in the process on CPU (nn.perf.tune_cpu_allocator)."""
    return Trainer(cfg, run_dir, resume=resume, progress=progress,
                   tune_allocator=tune_allocator).fit()
