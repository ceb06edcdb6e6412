"""The run folder's layout in one place: every name a training run writes, step-N checkpoint
folders, the `latest` pointer, and the one answer to "which checkpoint is the run's current one".

```
runs/<run>/
  config.yaml              the resolved config the run was (last) started with
  train_log.jsonl          one JSON object per logged step
  metrics.jsonl            one JSON object per evaluation score (metrics/report.py)
  samples/step-N.png       progress grids (<grid>-step-N.png for a task's other grids)
  tensorboard/             event files
  checkpoints/step-N/      complete checkpoints: components (checkpoint.py), meta.json and the
                           training state
  checkpoints/step-N.tmp/  a checkpoint being written (never read)
  checkpoints/latest       the name of the run's current checkpoint folder
```

The current checkpoint is the folder `checkpoints/latest` names, nothing else: a checkpoint is
written into `step-N.tmp/`, renamed into place, and only then is `latest` pointed at it, so the
pointer never names a partial folder. Every run pixelforge ever wrote has the pointer, so there is
no fall-back to "the newest step-N folder" (which, after a crash between the rename and the
pointer write, is a checkpoint the trainer would not resume from). `checkpoint.latest_checkpoint`
adds the completeness check of the checkpoint format on top of `RunDir.latest_target`.

Imports only `core` and `errors`, so every part of the package may use it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from pixelforge.core.files import atomic_write_text, fsync_dir
from pixelforge.errors import UserError

CONFIG_FILE = "config.yaml"
TRAIN_LOG = "train_log.jsonl"
METRICS_FILE = "metrics.jsonl"
SAMPLES_DIR = "samples"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINTS_DIR = "checkpoints"
LATEST = "latest"
META_FILE = "meta.json"  # inside a checkpoint folder: step, images seen, config, data
STEP_PREFIX, TMP_SUFFIX = "step-", ".tmp"
MAIN_GRID = "samples"  # the Task.preview grid written as samples/step-N.png
# folders of a run that hold no run of their own (for walks over a runs folder)
RUN_SUBDIRS = frozenset({CHECKPOINTS_DIR, SAMPLES_DIR, TENSORBOARD_DIR})


def step_name(step: int) -> str:
    """'step-0001500': the folder (and sample grid) name of a step; sorts by step."""
    return f"{STEP_PREFIX}{step:07d}"


def step_of(path: str | Path) -> int | None:
    """The step a step-N folder or grid is named after, or None for any other name."""
    stem = Path(path).name.split(".")[0]
    digits = stem.removeprefix(STEP_PREFIX)
    return int(digits) if stem.startswith(STEP_PREFIX) and digits.isdigit() else None


class RunDir:
    """A run folder: where each of its files lives, and which checkpoint is current."""

    def __init__(self, path: str | Path) -> None:
        self.path = p = Path(path)
        self.config = p / CONFIG_FILE
        self.train_log = p / TRAIN_LOG
        self.metrics = p / METRICS_FILE
        self.samples = p / SAMPLES_DIR
        self.tensorboard = p / TENSORBOARD_DIR
        self.checkpoints = p / CHECKPOINTS_DIR
        self.latest_pointer = self.checkpoints / LATEST

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- where things are -------------------------------------------------------------------------
    def step_dir(self, step: int) -> Path:
        return self.checkpoints / step_name(step)

    def temp_dir(self, step: int) -> Path:
        """Where the checkpoint of `step` is written before `commit` renames it into place."""
        return self.checkpoints / (step_name(step) + TMP_SUFFIX)

    def sample_grid(self, step: int, grid: str = MAIN_GRID) -> Path:
        """samples/step-N.png for the main preview grid, samples/<grid>-step-N.png for others."""
        name = f"{step_name(step)}.png"
        return self.samples / (name if grid == MAIN_GRID else f"{grid}-{name}")

    # -- what is there --------------------------------------------------------------------------
    def holds_run(self) -> bool:
        """A training has started here (its config, log or checkpoints folder exists)."""
        return any(p.exists() for p in (self.config, self.train_log, self.checkpoints))

    def step_dirs(self) -> list[Path]:
        """The step-N checkpoint folders, oldest first (temp folders of a save are skipped)."""
        if not self.checkpoints.is_dir():
            return []
        return sorted(p for p in self.checkpoints.glob(STEP_PREFIX + "*")
                      if p.is_dir() and not p.name.endswith(TMP_SUFFIX))

    def latest_sample(self) -> Path | None:
        """The newest main progress grid (samples/step-N.png), None before the first one."""
        grids = sorted(p for p in self.samples.glob(STEP_PREFIX + "*.png") if step_of(p) is not None)
        return grids[-1] if grids else None

    def latest_target(self) -> Path | None:
        """The folder `checkpoints/latest` names (it may be missing), None without a pointer; a
        pointer naming anything but a folder beside it is a UserError."""
        pointer = self.latest_pointer
        if not pointer.is_file():
            return None
        try:
            name = pointer.read_text().strip()
        except (OSError, UnicodeDecodeError):
            name = ""
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise UserError(f"{pointer} does not name a checkpoint folder")
        return pointer.parent / name

    @staticmethod
    def of_checkpoint(ckpt: str | Path) -> Path:
        """The run folder a checkpoint folder lies in (a bare checkpoint folder is its own)."""
        ckpt = Path(ckpt)
        return ckpt.parent.parent if ckpt.parent.name == CHECKPOINTS_DIR else ckpt

    # -- writing ----------------------------------------------------------------------------------
    def write_config(self, text: str) -> None:
        atomic_write_text(self.config, text)

    def append_log(self, record: dict[str, Any]) -> None:
        """One line of train_log.jsonl."""
        with open(self.train_log, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def commit(self, step: int, keep: int) -> Path:
        """Rename the fully written `temp_dir(step)` into place as `step_dir(step)`, point
        `latest` at it, keep the newest `keep` checkpoints and drop stale temp folders."""
        tmp_dir, final = self.temp_dir(step), self.step_dir(step)
        for f in tmp_dir.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        for d in [p for p in tmp_dir.rglob("*") if p.is_dir()]:
            fsync_dir(d)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp_dir, final)
        fsync_dir(final.parent)
        atomic_write_text(self.latest_pointer, final.name + "\n")
        for old in self.step_dirs()[:-keep]:
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
        for stale in self.checkpoints.glob("*" + TMP_SUFFIX):
            shutil.rmtree(stale, ignore_errors=True)
        return final
