"""The pixelforge studio: a local Gradio app over a runs folder (gallery, generate, interpolate,
restore, train, monitor). Inference only; training runs as a `pixelforge train` subprocess."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pixelforge.studio.context import Studio, StudioConfig

DEFAULT_PORT = 7860
# small model outputs (16-64 px) are shown enlarged with hard pixel edges
CSS = (".pf-grid img {image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain;}"
       " .pf-thumbs img {image-rendering: pixelated;}")  # thumbnails keep the gallery's layout
# Ctrl+Enter (Cmd+Enter) anywhere runs the visible tab's primary button (Generate, Run, Start...)
RUN_SHORTCUT_JS = """() => {
  if (window.pfRunShortcut) return;
  window.pfRunShortcut = true;
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey)) return;
    const panel = [...document.querySelectorAll('[role=tabpanel]')]
      .find(p => p.offsetParent !== null);
    const button = panel && panel.querySelector('button.primary:not([disabled])');
    if (button) { e.preventDefault(); button.click(); }
  });
}"""


def default_config_dir() -> Path | None:
    """The recipes: the ones shipped inside the package (pixelforge.configs), wheel or checkout."""
    from pixelforge.configs import root

    return root()


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
    """The Blocks app: one tab per registered page (studio/pages.py), in the pages' order."""
    import gradio as gr

    from pixelforge.studio.pages import discover

    built = []
    with gr.Blocks(title="pixelforge studio") as demo:
        gr.Markdown(f"# pixelforge studio\nRuns folder: `{studio.runs}`")
        with gr.Tabs():
            for page in discover():
                with gr.Tab(page.title, id=page.id):
                    built.append((page, page.build(studio)))
        for page, result in built:
            if page.link is not None:
                page.link(result, built)
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
        footer_links=["api"], css=CSS, js=RUN_SHORTCUT_JS,
        app_kwargs={"middleware": [Middleware(FileRouteGuard)]})
    return demo, url, studio
