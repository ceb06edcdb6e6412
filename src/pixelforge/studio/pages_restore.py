"""Studio page: restore (denoise, upscale, inpaint with a painted mask) or translate one upload or
several with any restoration/translation model; a before/after slider, a zip for several."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from pixelforge.errors import UserError
from pixelforge.studio.context import MODEL_QUEUE, Studio, guarded, on_load
from pixelforge.studio.model_cache import load_cached
from pixelforge.studio.pages import page
from pixelforge.studio.restorers import needs_mask, restore
from pixelforge.studio.safety import open_checked_image

SHIPPED_PREFIX = "shipped: "


def shipped_models() -> dict[str, Path]:
    """Restoration models installed with the package (pipelines/restore.py SHIPPED_MODELS, the
    table `--model NAME` reads), by the name the page shows; a fixed table, so no request path is
    involved."""
    try:
        from pixelforge.pipelines.restore import shipped_models as installed
    except ImportError:
        return {}
    return {f"{SHIPPED_PREFIX}{name}": folder for name, folder in installed().items()}


def restore_kinds() -> tuple[str, ...]:
    """The model kinds the page lists: those whose declaration names the "restore" page
    (pixelforge.kinds); the Restorer of each one's pipeline (studio/restorers.py) runs it."""
    from pixelforge.kinds import kinds_on_page

    return tuple(k.name for k in kinds_on_page("restore"))


MASK_SHAPES = ("as painted", "box around the paint")
BRUSH = "rgba(255, 0, 0, 0.45)"  # see-through, so the picture under the hole stays visible
MAX_FILES = 32  # images restored in one go


def mask_from_editor(value, size: tuple[int, int], shape: str = MASK_SHAPES[0],
                     invert: bool = False) -> Image.Image | None:
    """The hole mask (L, 255 = hole) drawn on gr.ImageEditor: the alpha of its paint layers;
    `shape` "box around the paint" fills the painted pixels' bounding box; `invert` makes
    everything but the paint the hole."""
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
    hole = alpha > 0  # [H, W]
    if shape == MASK_SHAPES[1]:
        ys, xs = np.nonzero(hole)
        hole = np.zeros_like(hole)
        hole[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    if invert:
        hole = ~hole
    mask = Image.fromarray(np.where(hole, 255, 0).astype(np.uint8))
    return mask if mask.size == size else mask.resize(size, Image.Resampling.NEAREST)


def file_list(files) -> list[str]:
    """gr.File(file_count="multiple")'s value (None, one path or a list) as a list of paths."""
    if not files:
        return []
    return [str(f) for f in (files if isinstance(files, list) else [files])]


def zip_of(paths: list[Path], dest: Path) -> Path:
    """The restored pictures in one zip (stored, PNGs are compressed already)."""
    import zipfile

    with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as zf:
        for path in paths:
            zf.write(path, path.name)
    return dest


def restore_files(studio: Studio, checkpoint: Path | None, pipeline: str, paths: list[str],
                  mask_value, shape: str, invert: bool):
    """Restore every upload (all checked before any runs) -> (before, after) of the first, the
    results gallery (several files), the download (a PNG, or a zip of them all), a status line."""
    if not paths:
        raise UserError("upload an image first")
    if checkpoint is None:
        raise UserError("choose a model first")
    images = [open_checked_image(p, studio.cfg.limits, label=Path(p).name) for p in paths]
    mask = None
    if needs_mask(pipeline):
        if len(images) > 1:
            raise UserError("inpaint one image at a time (the hole is painted on one)")
        mask = mask_from_editor(mask_value, images[0].size, shape, invert)
    pipe = load_cached(checkpoint)
    outs = []
    for src, im in zip(paths, images, strict=True):
        path = studio.scratch(f"{Path(src).stem}-{pipeline}.png")
        restore(pipe, pipeline, im, mask).save(path)
        outs.append(path)
    first = Image.open(outs[0])
    pair = (images[0].convert("RGB"), first)
    msg = f"{pipeline}: {images[0].size} -> {first.size}"
    if len(outs) == 1:
        return pair, gr.update(visible=False), str(outs[0]), msg
    archive = zip_of(outs, studio.scratch(f"{pipeline}-{len(outs)}-images.zip"))
    return pair, gr.update(value=[str(p) for p in outs], visible=True), str(archive), \
        f"{msg}; {len(outs)} images, all in the zip"


@dataclass
class RestorePage:
    """What other pages wire to: the model dropdown, the upload, and the upload's handler
    (keyword arguments of an event's .then) so a sent picture shows as if uploaded."""

    model: gr.Dropdown
    upload: gr.File
    on_upload: dict


@page("restore", "Restore / Translate", order=40)
def restore_page(studio: Studio) -> RestorePage:
    kinds = restore_kinds()

    def all_choices() -> list[str]:
        return studio.model_choices("restore") + list(shipped_models())

    def checkpoint_of(name: str) -> Path:
        shipped = shipped_models()
        return shipped[name] if name in shipped else studio.checkpoint(name)

    gr.Markdown("Restoration and translation models found in the runs folder (kinds: "
                f"{', '.join(kinds)}) and the shipped ones. Train a denoise / upscale / inpaint / "
                "translation / colorize model and it appears here (↻).")
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                model = gr.Dropdown([], value=None, label="model", elem_id="restore-model",
                                    scale=4)
                refresh = gr.Button("↻", scale=0, min_width=40, elem_id="restore-refresh")
            upload = gr.File(label=f"images (one, or up to {MAX_FILES} at once)",
                             file_types=["image"], file_count="multiple",
                             elem_id="restore-upload")
            editor = gr.ImageEditor(label="paint the hole to inpaint (inpaint models)",
                                    type="numpy", sources=(), image_mode="RGBA", visible=False,
                                    elem_id="restore-mask", layers=False,
                                    brush=gr.Brush(colors=[BRUSH], color_mode="fixed"))
            with gr.Row(visible=False) as mask_opts:
                shape = gr.Radio(list(MASK_SHAPES), value=MASK_SHAPES[0], label="hole",
                                 elem_id="restore-mask-shape")
                invert = gr.Checkbox(False, label="invert (keep the paint, fill the rest)",
                                     elem_id="restore-mask-invert")
            go = gr.Button("Run", variant="primary", elem_id="restore-go")
            status = gr.Markdown(elem_id="restore-status")
        with gr.Column(scale=2):
            compare = gr.ImageSlider(label="before | after (drag to compare, wheel to zoom)",
                                     type="pil", format="png", elem_id="restore-compare")
            results = gr.Gallery(label="results", columns=6, height=200, visible=False,
                                 elem_id="restore-results")
            download = gr.File(label="download", elem_id="restore-file")

    def pipeline_of(name: str | None) -> str:
        """The pipeline a run's checkpoint loads as (its model_index.json)."""
        if not name:
            return ""
        from pixelforge.runs import run_info

        return run_info(checkpoint_of(name)).pipeline

    def on_upload(files, name):
        paths = file_list(files)
        if not paths:
            return None, gr.update(), gr.update(), ""
        if len(paths) > MAX_FILES:
            raise UserError(f"{len(paths)} images: restore at most {MAX_FILES} at once")
        im = open_checked_image(paths[0], studio.cfg.limits, label="image")
        rgb = im.convert("RGB")
        show_mask = bool(name) and needs_mask(pipeline_of(name))
        editor_value = np.asarray(rgb) if show_mask else None  # the background to draw on
        more = f" (+{len(paths) - 1} more)" if len(paths) > 1 else ""
        return (rgb, None), gr.update(value=editor_value, visible=show_mask), \
            gr.update(visible=show_mask), f"{im.width}x{im.height} {im.mode}{more}"

    def run(name, files, mask_value, shape_v, invert_v):
        pipeline = pipeline_of(name)
        return restore_files(studio, checkpoint_of(name) if name else None, pipeline,
                             file_list(files), mask_value, shape_v, bool(invert_v))

    upload_event = dict(fn=guarded(on_upload), inputs=[upload, model],
                        outputs=[compare, editor, mask_opts, status])
    on_load(lambda: gr.update(choices=all_choices()), model, "restore_models",
            also=refresh.click)
    upload.upload(**upload_event, api_name="restore_upload")
    model.change(**upload_event, api_name="restore_model")
    go.click(guarded(run), inputs=[model, upload, editor, shape, invert],
             outputs=[compare, results, download, status], api_name="restore",
             concurrency_id=MODEL_QUEUE)
    return RestorePage(model, upload, upload_event)
