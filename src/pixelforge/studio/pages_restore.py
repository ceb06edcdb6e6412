"""Studio page: restore (denoise, upscale, inpaint with a drawn mask) or translate an upload with
any restoration/translation model in the runs folder; before/after side by side, download."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from pixelforge.errors import UserError
from pixelforge.studio import models as sm
from pixelforge.studio.app import Studio, guarded
from pixelforge.studio.safety import open_checked_image

SHIPPED_PREFIX = "shipped: "


def shipped_models() -> dict[str, Path]:
    """Restoration models installed with the package (pipelines/restore.py SHIPPED), by the name
    the page shows; a fixed table, so no request path is involved."""
    try:
        from pixelforge.pipelines.restore import SHIPPED, SHIPPED_DIR
    except ImportError:
        return {}
    return {f"{SHIPPED_PREFIX}{folder}": SHIPPED_DIR / folder for folder in SHIPPED.values()
            if (SHIPPED_DIR / folder / "model_index.json").is_file()}


def restore_kinds() -> tuple[str, ...]:
    """The pipelines the page runs (the Restorer registry in studio/models.py)."""
    return tuple(sm.RESTORERS)


def mask_from_editor(value, size: tuple[int, int]) -> Image.Image | None:
    """The hole mask (L, 255 = hole) drawn on gr.ImageEditor: the alpha of its paint layers."""
    if not isinstance(value, dict) or not value.get("layers"):
        return None
    alpha = None
    for layer in value["layers"]:
        arr = np.asarray(layer)
        if arr.ndim == 3 and arr.shape[-1] == 4:
            a = arr[..., 3]
            alpha = a if alpha is None else np.maximum(alpha, a)
    if alpha is None or not alpha.any():
        return None
    mask = Image.fromarray(np.where(alpha > 0, 255, 0).astype(np.uint8))
    return mask if mask.size == size else mask.resize(size, Image.Resampling.NEAREST)


def restore_page(studio: Studio) -> gr.Dropdown:
    kinds = restore_kinds()

    def all_choices() -> list[str]:
        return studio.model_choices(kinds) + list(shipped_models())

    def checkpoint_of(name: str) -> Path:
        shipped = shipped_models()
        return shipped[name] if name in shipped else studio.checkpoint(name)

    choices = all_choices()
    gr.Markdown("Restoration and translation models found in the runs folder (pipelines: "
                f"{', '.join(kinds)}). " + ("" if choices else
                "**None yet**: train a denoise / upscale / inpaint / translation model and it "
                "appears here."))
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                model = gr.Dropdown(choices, value=None, label="model", elem_id="restore-model",
                                    scale=4)
                refresh = gr.Button("↻", scale=0, min_width=40)
            upload = gr.File(label="image", file_types=["image"], elem_id="restore-upload")
            editor = gr.ImageEditor(label="draw the hole to inpaint (inpaint models)",
                                    type="numpy", sources=(), image_mode="RGBA", visible=False,
                                    elem_id="restore-mask", layers=False,
                                    brush=gr.Brush(colors=["#ff0000"], color_mode="fixed"))
            go = gr.Button("Run", variant="primary", elem_id="restore-go")
            status = gr.Markdown(elem_id="restore-status")
        with gr.Column(scale=2):
            with gr.Row():
                before = gr.Image(label="before", type="pil", format="png", interactive=False,
                                  elem_id="restore-before")
                after = gr.Image(label="after", type="pil", format="png", interactive=False,
                                 elem_id="restore-after")
            download = gr.File(label="download", elem_id="restore-file")

    def kind_of(name: str | None) -> str:
        """The pipeline a run's checkpoint loads as (its model_index.json)."""
        if not name:
            return ""
        from pixelforge.runs import run_info

        return run_info(checkpoint_of(name)).pipeline

    def on_upload(file, name):
        if file is None:
            return None, gr.update(), ""
        im = open_checked_image(file, studio.cfg.limits, label="image")
        rgb = im.convert("RGB")
        show_mask = bool(name) and _needs_mask(kind_of(name))
        editor_value = np.asarray(rgb) if show_mask else None  # the background to draw on
        return rgb, gr.update(value=editor_value, visible=show_mask), \
            f"{im.width}x{im.height} {im.mode}"

    def run(name, file, mask_value):
        if file is None:
            raise UserError("upload an image first")
        kind = kind_of(name)
        im = open_checked_image(file, studio.cfg.limits, label="image")
        mask = mask_from_editor(mask_value, im.size) if _needs_mask(kind) else None
        out = sm.restore(sm.load_model(checkpoint_of(name)), kind, im, mask)
        path = studio.scratch(f"{kind}.png")
        out.save(path)
        return im.convert("RGB"), out, str(path), f"{kind}: {im.size} -> {out.size}"

    refresh.click(lambda: gr.update(choices=all_choices()), outputs=model)
    upload.upload(guarded(on_upload), inputs=[upload, model], outputs=[before, editor, status])
    model.change(guarded(on_upload), inputs=[upload, model], outputs=[before, editor, status])
    go.click(guarded(run), inputs=[model, upload, editor],
             outputs=[before, after, download, status])
    return model


def _needs_mask(kind: str) -> bool:
    r = sm.RESTORERS.get(kind)
    return bool(r and r.needs_mask)
