"""Studio pages to look and play: Gallery (runs and their metrics), Generate (with PNG info),
Interpolate (latent walks, or between two uploaded images for VAEs)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from pixelforge import __version__
from pixelforge.errors import UserError
from pixelforge.runs import contained, latest_sample
from pixelforge.studio import models as sm
from pixelforge.studio.app import Studio, _kind_of, guarded
from pixelforge.studio.pngmeta import GenerationParams, png_bytes, read_params
from pixelforge.studio.safety import open_checked_image

ALL_CLASSES = "all classes (cycled)"
GENERATIVE = ("generate", "autoencode")  # pipelines the Generate and Interpolate pages run
COLUMNS = ["run", "model", "kind", "data", "step", "training time", "metrics", "updated"]
SORTS = {"newest": ("updated", True), "name": ("run", False), "model": ("model", False),
         "step": ("step", True)}


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f} min"


def runs_table(studio: Studio, sort: str = "newest") -> list[list[Any]]:
    rows = []
    for r in studio.list_runs():
        rows.append([r.name, r.model, r.kind or _kind_of(r.model), r.data, r.step,
                     _minutes(r.train_seconds), r.metric_summary(),
                     time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated))])
    col, reverse = SORTS.get(sort, SORTS["newest"])
    i = COLUMNS.index(col)
    return sorted(rows, key=lambda row: row[i], reverse=reverse)


@dataclass
class GalleryPage:
    picked: gr.Textbox
    studio: Studio

    def pick_targets(self, dropdowns: list[gr.Dropdown]) -> None:
        """Picking a run in the gallery selects it on the model pages."""
        def pick(name):
            choices = self.studio.model_choices()
            value = name if name in choices else None
            return [gr.update(choices=choices, value=value) for _ in dropdowns]
        self.picked.change(pick, inputs=self.picked, outputs=dropdowns)


def _load_sample(studio: Studio, name: str):
    from PIL import Image

    run = contained(studio.runs, name)
    sample = latest_sample(run)
    if sample is None:
        return None
    with Image.open(contained(studio.runs, sample)) as im:
        return im.convert("RGB")


def gallery_page(studio: Studio) -> GalleryPage:
    gr.Markdown("Every run and checkpoint under the runs folder. Pick a row to see its latest "
                "samples and use it on the Generate and Interpolate pages.")
    with gr.Row():
        sort = gr.Dropdown(list(SORTS), value="newest", label="sort by", scale=1)
        refresh = gr.Button("Refresh", scale=0)
    table = gr.Dataframe(value=lambda: runs_table(studio), headers=COLUMNS, interactive=False,
                         wrap=True, elem_id="runs-table")
    with gr.Row():
        picked = gr.Textbox(label="picked run", interactive=False, elem_id="picked-run")
        sample = gr.Image(label="latest sample grid", type="pil", format="png", height=256,
                          elem_id="gallery-sample", elem_classes=["pf-grid"])

    def on_select(evt: gr.SelectData):
        row = evt.row_value or []
        name = str(row[0]) if row else ""
        return name, (_load_sample(studio, name) if name else None)

    refresh.click(lambda s: runs_table(studio, s), inputs=sort, outputs=table)
    sort.change(lambda s: runs_table(studio, s), inputs=sort, outputs=table)
    table.select(guarded(on_select), outputs=[picked, sample])
    return GalleryPage(picked, studio)


def _label(value: str | None) -> int | None:
    return None if value in (None, "", ALL_CLASSES) else int(value)


def _truncation(value: float | None) -> float | None:
    return None if value is None or float(value) >= 1.0 else float(value)


def model_controls(studio: Studio, name: str | None, label: str | None = None):
    """Class choices (keeping `label` when the model has it) and truncation visibility."""
    if not name:
        return gr.update(choices=[ALL_CLASSES], value=ALL_CLASSES, visible=False), \
            gr.update(visible=True), ""
    ckpt = studio.checkpoint(name)
    net = sm.generator_of(sm.load_model(ckpt))
    k = getattr(net, "num_classes", 0)
    is_vae = callable(getattr(net, "encode", None))
    classes = [ALL_CLASSES, *map(str, range(k))]
    text = (f"**{net.family}** {net.image_size}x{net.image_size}x{net.channels}, latent "
            f"{net.latent_dim}" + (f", {k} classes" if k else "") + f"; checkpoint "
            f"`{ckpt.name}`, hash `{sm.model_hash(ckpt)}`")
    keep = label if label in classes else ALL_CLASSES
    return gr.update(choices=classes, value=keep, visible=bool(k)), \
        gr.update(visible=not is_vae), text


def generate_page(studio: Studio) -> gr.Dropdown:
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                model = gr.Dropdown(studio.model_choices(GENERATIVE), value=None,
                                    label="model", elem_id="gen-model", scale=4)
                refresh = gr.Button("↻", scale=0, min_width=40)
            about = gr.Markdown()
            seed = gr.Number(0, precision=0, label="seed", elem_id="gen-seed")
            count = gr.Slider(1, 64, value=16, step=1, label="count", elem_id="gen-count")
            trunc = gr.Slider(0.05, 1.0, value=1.0, step=0.05, elem_id="gen-trunc",
                              label="truncation psi (1 = none)")
            label = gr.Dropdown([ALL_CLASSES], value=ALL_CLASSES, label="class", visible=False,
                                elem_id="gen-class")
            with gr.Row():
                go = gr.Button("Generate", variant="primary", elem_id="gen-go")
                stop = gr.Button("Cancel")
            info = gr.File(label="PNG info: drop a generated PNG to restore its settings",
                           file_types=[".png"], elem_id="png-info")
        with gr.Column(scale=2):
            grid = gr.Image(label="samples", type="pil", format="png", elem_id="gen-grid", elem_classes=["pf-grid"],
                            height=420)
            download = gr.File(label="PNG with the generation parameters", elem_id="gen-file")
            params_md = gr.Markdown(elem_id="gen-params")

    def run(name, seed_v, count_v, trunc_v, label_v):
        ckpt = studio.checkpoint(name)
        gen = sm.generator_of(sm.load_model(ckpt))
        seed_i, n = int(seed_v or 0), int(count_v)
        if not 1 <= n <= 64:
            raise UserError(f"count must be 1..64 (got {n})")
        t = _truncation(trunc_v)
        y = _label(label_v)
        images = sm.generate(gen, n, seed_i, truncation=t, label=y)
        from pixelforge.core.images import grid_image

        picture = grid_image(images)
        params = GenerationParams(model=name, model_hash=sm.model_hash(ckpt), seed=seed_i,
                                  count=n, truncation=t, label=y, pixelforge_version=__version__)
        path = studio.scratch(f"{name.replace('/', '_')}-seed{seed_i}.png")
        path.write_bytes(png_bytes(picture, params))
        return picture, str(path), params.describe()

    def restore(file):
        if file is None:
            return [gr.update()] * 6
        im = open_checked_image(file, studio.cfg.limits, label="PNG info")
        p = read_params(im)
        choices = studio.model_choices()
        note = p.describe()
        if p.model not in choices:
            note += f"\n\n**model {p.model!r} is not in this runs folder**"
        elif sm.model_hash(studio.checkpoint(p.model)) != p.model_hash:
            note += "\n\n**warning: the model's weights changed since (hash differs)**"
        label_v = ALL_CLASSES if p.label is None else str(p.label)
        classes = gr.update(value=label_v)
        if p.model in choices:  # the model's own class list, with the stored class chosen
            classes = model_controls(studio, p.model, label_v)[0]
        return (gr.update(choices=choices, value=p.model if p.model in choices else None),
                p.seed, p.count, 1.0 if p.truncation is None else p.truncation, classes, note)

    refresh.click(lambda: gr.update(choices=studio.model_choices()), outputs=model)
    model.change(guarded(lambda n, y: model_controls(studio, n, y)), inputs=[model, label],
                 outputs=[label, trunc, about])
    event = go.click(guarded(run), inputs=[model, seed, count, trunc, label],
                     outputs=[grid, download, params_md])
    stop.click(None, cancels=[event])
    info.upload(guarded(restore), inputs=info,
                outputs=[model, seed, count, trunc, label, params_md])
    return model


def interpolate_page(studio: Studio) -> gr.Dropdown:
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(studio.model_choices(GENERATIVE), value=None,
                                label="model", elem_id="walk-model")
            mode = gr.Radio(["two seeds", "two images (VAEs)"], value="two seeds", label="walk")
            with gr.Row():
                seed_a = gr.Number(0, precision=0, label="seed A", elem_id="walk-a")
                seed_b = gr.Number(1, precision=0, label="seed B", elem_id="walk-b")
            with gr.Row():
                image_a = gr.File(label="image A", file_types=["image"], visible=False)
                image_b = gr.File(label="image B", file_types=["image"], visible=False)
            frames = gr.Slider(2, 120, value=24, step=1, label="frames", elem_id="walk-frames")
            method = gr.Radio(["slerp", "lerp", "style mixing"], value="slerp",
                              label="interpolation (style mixing: stylegan-lite)")
            fmt = gr.Radio(["GIF", "MP4"], value="GIF", label="format")
            fps = gr.Slider(1, 30, value=12, step=1, label="frames per second")
            trunc = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="truncation psi (1 = none)")
            with gr.Row():
                go = gr.Button("Interpolate", variant="primary", elem_id="walk-go")
                stop = gr.Button("Cancel")
        with gr.Column(scale=2):
            gif = gr.Image(label="walk", type="filepath", elem_id="walk-gif", height=320,
                           elem_classes=["pf-grid"])
            video = gr.Video(label="walk", visible=False, elem_id="walk-video")
            download = gr.File(label="download", elem_id="walk-file")
            status = gr.Markdown(elem_id="walk-status")

    def run(name, mode_v, a, b, img_a, img_b, n, method_v, fmt_v, fps_v, trunc_v,
            progress=gr.Progress()):
        from pixelforge.pipelines.interpolate import save_animation

        ckpt = studio.checkpoint(name)
        gen = sm.generator_of(sm.load_model(ckpt))
        progress(0.1, desc="walking")
        if mode_v.startswith("two images"):
            if img_a is None or img_b is None:
                raise UserError("upload two images for an image-to-image walk")
            lim = studio.cfg.limits
            frames_t = sm.vae_walk(gen, open_checked_image(img_a, lim, label="image A"),
                                   open_checked_image(img_b, lim, label="image B"), int(n))
        elif method_v == "style mixing":
            frames_t = sm.style_mix(gen, int(a or 0), int(b or 0),
                                    truncation=_truncation(trunc_v), label=None)
        else:
            frames_t = sm.walk(gen, int(a or 0), int(b or 0), int(n), method=method_v,
                               truncation=_truncation(trunc_v), label=None)
        progress(0.7, desc="encoding")
        suffix = ".mp4" if fmt_v == "MP4" else ".gif"
        path = studio.scratch(f"walk-{int(a or 0)}-{int(b or 0)}{suffix}")
        scale = max(1, 128 // gen.image_size)
        save_animation(frames_t, path, fps=int(fps_v), scale=scale)
        msg = f"{len(frames_t)} frames ({method_v}), {path.stat().st_size // 1024} KB"
        if suffix == ".gif":
            return gr.update(value=str(path), visible=True), gr.update(visible=False), \
                str(path), msg
        return gr.update(visible=False), gr.update(value=str(path), visible=True), str(path), msg

    mode.change(lambda m: [gr.update(visible=m.startswith("two images"))] * 2, inputs=mode,
                outputs=[image_a, image_b])
    event = go.click(guarded(run), inputs=[model, mode, seed_a, seed_b, image_a, image_b, frames,
                                          method, fmt, fps, trunc],
                     outputs=[gif, video, download, status])
    stop.click(None, cancels=[event])
    return model
