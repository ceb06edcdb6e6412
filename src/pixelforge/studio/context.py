"""What every studio page shares: the Studio state (runs folder, jobs, file cache) and `guarded`.

The app and the pages both import this module and never each other, so the studio has no import
circle: app.py builds the tabs from the page registry (studio/pages.py), pages only register.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pixelforge.errors import UserError
from pixelforge.runs import RunInfo, contained, find_runs
from pixelforge.studio.jobs import JobManager
from pixelforge.studio.safety import Limits


@dataclass
class StudioConfig:
    """Where the studio reads and writes, and how much it accepts."""

    runs: Path
    data_dirs: list[Path] = field(default_factory=list)
    config_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)
    cache_dir: Path | None = None
    queue_size: int = 16
    live_every: float = 1.5  # seconds between refreshes of the live training view


def model_kind(model: str) -> str:
    """The kind ("gan", "vae", "upscale", ...) of a registered model family; "" when a folder
    names a family this pixelforge does not know."""
    from pixelforge.models import MODELS

    try:
        return MODELS.get(model).kind
    except Exception:  # noqa: BLE001 - an unknown family in some folder
        return ""


def kind_pages(kind: str) -> tuple[str, ...]:
    """The studio pages a model kind's declaration lists it on (none for an unknown kind)."""
    from pixelforge.kinds import KINDS

    return KINDS.get(kind).studio if kind in KINDS else ()


def run_kind(run: RunInfo) -> str:
    """The model kind of a run: from its checkpoint index, else from its model family."""
    return run.kind or model_kind(run.model)


class Studio:
    """Shared state of the pages: the runs folder, the training jobs, a private file cache."""

    def __init__(self, cfg: StudioConfig) -> None:
        cfg.runs.mkdir(parents=True, exist_ok=True)
        self.cfg = cfg
        self.runs = cfg.runs.resolve()
        self.data_dir = self.runs / "data"  # zip uploads are unpacked here
        roots = [self.data_dir, *cfg.data_dirs]
        self.jobs = JobManager(self.runs, roots, cfg.config_dir)
        self.cache = Path(cfg.cache_dir or tempfile.mkdtemp(prefix="pixelforge-studio-")).resolve()
        self.cache.mkdir(parents=True, exist_ok=True)
        if cfg.cache_dir is None:  # our own temp folder: generated files go with the studio
            atexit.register(shutil.rmtree, self.cache, ignore_errors=True)

    # -- runs ------------------------------------------------------------------------------
    def list_runs(self) -> list[RunInfo]:
        return [r for r in find_runs(self.runs) if not _under(r.path, self.data_dir)]

    def model_choices(self, page: str | None = None) -> list[str]:
        """Runs/checkpoints with weights; with `page`, only those whose model kind declares that
        studio page (pixelforge.kinds: "generate", "interpolate", "restore")."""
        out = []
        for r in self.list_runs():
            if r.checkpoint is None:
                continue
            if page is not None and page not in kind_pages(run_kind(r)):
                continue
            out.append(r.name)
        return out

    def checkpoint(self, name: str | None) -> Path:
        """The newest checkpoint of the run (or the checkpoint folder) `name`, inside the runs
        folder; UserError for anything else."""
        if not name:
            raise UserError("choose a model first (train one on the Train page)")
        from pixelforge.runs import run_info

        path = contained(self.runs, name)
        info = run_info(path)
        if info.checkpoint is None:
            raise UserError(f"run {name!r} has no checkpoint yet")
        return contained(self.runs, info.checkpoint)

    def scratch(self, suffix: str) -> Path:
        """A fresh file name in the studio's private cache (the only place it serves files)."""
        d = self.cache / uuid.uuid4().hex
        d.mkdir()
        return d / suffix


def _under(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


# Generate, Interpolate and Restore share one queue (one model call at a time on the CPU), so
# gradio shows each waiting browser its place in it ("queue: 2/3") on the outputs
MODEL_QUEUE = "model"


def guarded(fn):
    """Turn a UserError in a page handler into a warning toast with the same one line, and leave
    every output as it was: raising gr.Error would mark each output with a red "Error" pill that
    hides its current value until the next success."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            gr.Warning(str(exc))
            return gr.skip()  # one skip() stands for every output of the event
    return wrapper


def on_load(fn, outputs, api_name: str, also=None, inputs=None):
    """Run `fn` (filling a list from the runs folder) on every page load, and on the trigger
    `also` (a refresh button's click), so a browser reload shows what the folder holds now, not
    what it held when the server started. One named endpoint for both."""
    import gradio as gr
    from gradio.context import get_blocks_context

    triggers = [get_blocks_context().root_block.load]  # the Blocks being built: its page load
    if also is not None:
        triggers.append(also)
    return gr.on(triggers, fn, inputs=inputs, outputs=outputs, api_name=api_name,
                 show_progress="hidden")


def random_seed() -> int:
    """A seed for 'random' (-1 on the pages, or the 🎲 button): 0 .. 2**31 - 1."""
    import secrets

    return secrets.randbelow(2**31)


def seed_of(value) -> int:
    """The seed a page runs with: the number given, or a fresh random one for -1 (or empty)."""
    seed = -1 if value is None or value == "" else int(value)
    return random_seed() if seed == -1 else seed
