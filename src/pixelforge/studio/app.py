"""The pixelforge studio: a local Gradio app over a runs folder (gallery, generate, interpolate,
restore, train, monitor). Inference only; training runs as a `pixelforge train` subprocess."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pixelforge.errors import UserError
from pixelforge.runs import LEGACY_PIPELINES, RunInfo, contained, find_runs
from pixelforge.studio.jobs import JobManager
from pixelforge.studio.safety import Limits

DEFAULT_PORT = 7860
# small model outputs (16-64 px) are shown enlarged with hard pixel edges
CSS = ".pf-grid img {image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain;}"


def default_config_dir() -> Path | None:
    """The recipes: configs/ of a source checkout (next to src/), or none on a wheel install."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "configs").is_dir() and (parent / "pyproject.toml").is_file():
            return parent / "configs"
    return None


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

    def model_choices(self, pipelines: tuple[str, ...] | None = None) -> list[str]:
        """Runs/checkpoints with weights, optionally only those loading as some pipelines."""
        out = []
        for r in self.list_runs():
            if r.checkpoint is None:
                continue
            pipe = r.pipeline or LEGACY_PIPELINES.get(r.kind or _kind_of(r.model), "")
            if pipelines is not None and pipe not in pipelines:
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


def _kind_of(model: str) -> str:
    from pixelforge.models import MODELS

    try:
        return MODELS.get(model).kind
    except Exception:  # noqa: BLE001 - an unknown family in some folder
        return ""


def guarded(fn):
    """Turn a UserError in a page handler into Gradio's error toast with the same one line."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
    return wrapper


class FileRouteGuard:
    """ASGI middleware: the file route never proxies URLs and never sees `..` in a path."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") == "http":
            path = scope.get("path", "")
            raw = scope.get("raw_path", b"").decode("latin-1")
            if "/file=" in path or "/file=" in unquote(raw):
                target = unquote(unquote(path.split("/file=", 1)[-1]))
                if "://" in target or target.startswith("//") or ".." in target.split("/") \
                        or ".." in unquote(raw):
                    await send({"type": "http.response.start", "status": 403,
                                "headers": [(b"content-type", b"text/plain")]})
                    await send({"type": "http.response.body", "body": b"File not allowed"})
                    return
        await self.app(scope, receive, send)


def build_app(studio: Studio):
    """The Blocks app with every page."""
    import gradio as gr

    from pixelforge.studio import pages_explore, pages_restore, pages_train

    with gr.Blocks(title="pixelforge studio") as demo:
        gr.Markdown(f"# pixelforge studio\nRuns folder: `{studio.runs}`")
        with gr.Tabs():
            with gr.Tab("Gallery", id="gallery"):
                gallery = pages_explore.gallery_page(studio)
            with gr.Tab("Generate", id="generate"):
                gen_model = pages_explore.generate_page(studio)
            with gr.Tab("Interpolate", id="interpolate"):
                walk_model = pages_explore.interpolate_page(studio)
            with gr.Tab("Restore / Translate", id="restore"):
                pages_restore.restore_page(studio)
            with gr.Tab("Train", id="train"):
                pages_train.train_page(studio)
            with gr.Tab("Monitor", id="monitor"):
                pages_train.monitor_page(studio)
        gallery.pick_targets([gen_model, walk_model])
    return demo


def launch(cfg: StudioConfig, *, host: str = "127.0.0.1", port: int | None = DEFAULT_PORT,
           block: bool = True, quiet: bool = False) -> tuple[Any, str, Studio]:
    """Start the studio; returns (blocks, local URL, studio). block=False returns at once."""
    from starlette.middleware import Middleware

    studio = Studio(cfg)
    os.environ["GRADIO_TEMP_DIR"] = str(studio.cache)
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(studio.cache / "examples")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(studio)
    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=1)
    blocked = [] if studio.cache.is_relative_to(studio.runs) else [str(studio.runs)]
    _, url, _ = demo.launch(
        server_name=host, server_port=port, share=False, allowed_paths=[],
        blocked_paths=blocked, max_file_size=cfg.limits.max_file_size,
        prevent_thread_lock=not block, quiet=quiet, show_error=True, ssr_mode=False,
        footer_links=[], css=CSS, app_kwargs={"middleware": [Middleware(FileRouteGuard)]})
    return demo, url, studio
