"""Studio pages to look and play: Gallery (runs and their metrics), Generate (with PNG info),
Interpolate (latent walks, or between two uploaded images for VAEs)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from pixelforge import __version__
from pixelforge.errors import UserError
from pixelforge.runs import contained, latest_sample
from pixelforge.studio.context import (
    MODEL_QUEUE,
    Studio,
    guarded,
    on_load,
    random_seed,
    run_kind,
    seed_of,
)
from pixelforge.studio.model_cache import load_generate, model_hash
from pixelforge.studio.pages import Page, page
from pixelforge.studio.pngmeta import GenerationParams, png_bytes, read_params
from pixelforge.studio.safety import open_checked_image
from pixelforge.studio.uploads import image_tensor

ALL_CLASSES = "all classes (cycled)"
COLUMNS = ["run", "model", "kind", "data", "step", "training time", "updated", "privacy"]
THUMB = 96  # px: the longer side of a run's thumbnail in the gallery
HISTORY = 48  # generated grids the Generate page keeps in its history (per browser tab)
SORTS = {"newest": ("updated", True), "name": ("run", False), "model": ("model", False),
         "step": ("step", True)}


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f} min"


def latest_metrics(run) -> dict[str, str]:
    """The latest value of each metric of a run, by metric name (one table column each)."""
    out = {}
    for rec in run.metrics:
        value = rec.get("value")
        out[str(rec.get("metric"))] = f"{value:.4g}" if isinstance(value, (int, float)) \
            else str(value)
    return out


def runs_table(studio: Studio, sort: str = "newest") -> pd.DataFrame:
    """One row per run; the fixed columns, then one column per metric any run has."""
    rows, names = [], {}
    for r in studio.list_runs():
        metrics = latest_metrics(r)
        names.update(dict.fromkeys(metrics))
        rows.append(([r.name, r.model, run_kind(r), r.data, r.step, _minutes(r.train_seconds),
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated)), r.privacy],
                     metrics))
    col, reverse = SORTS.get(sort, SORTS["newest"])
    i = COLUMNS.index(col)
    rows.sort(key=lambda row: row[0][i], reverse=reverse)
    return pd.DataFrame([fixed + [m.get(n, "") for n in names] for fixed, m in rows],
                        columns=COLUMNS + list(names))


def thumbnails(studio: Studio) -> list[tuple[Any, str]]:
    """(small latest sample grid, run name) of every run that has one, newest first."""
    out = []
    for r in sorted(studio.list_runs(), key=lambda r: r.updated, reverse=True):
        im = _load_sample(studio, r.name)
        if im is not None:
            im.thumbnail((THUMB, THUMB))
            out.append((im, r.name))
    return out


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
        self.picked.change(pick, inputs=self.picked, outputs=dropdowns, api_name="use_run")


def _load_sample(studio: Studio, name: str):
    from PIL import Image

    run = contained(studio.runs, name)
    sample = latest_sample(run)
    if sample is None:
        return None
    with Image.open(contained(studio.runs, sample)) as im:
        return im.convert("RGB")


def _pick_targets(gallery: GalleryPage, built: list[tuple[Page, Any]]) -> None:
    """The model dropdown of every page that follows the gallery (a page's build result, or
    its `model` attribute)."""
    gallery.pick_targets([getattr(result, "model", result) for p, result in built
                          if p.follows_gallery])


@page("gallery", "Gallery", order=10, link=_pick_targets)
def gallery_page(studio: Studio) -> GalleryPage:
    gr.Markdown("Every run and checkpoint under the runs folder. Pick a row to see its latest "
                "samples and use it on the Generate and Interpolate pages.")
    with gr.Row():
        sort = gr.Dropdown(list(SORTS), value="newest", label="sort by", scale=1)
        refresh = gr.Button("Refresh", scale=0)
    thumbs = gr.Gallery(label="latest samples (pick one to use the run)", columns=8,
                        height=150, allow_preview=False, object_fit="contain", fit_columns=False,
                        elem_id="runs-thumbs", elem_classes=["pf-thumbs"])
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, max_chars=40,
                         pinned_columns=1, elem_id="runs-table")
    with gr.Row():
        with gr.Column():
            picked = gr.Textbox(label="picked run", interactive=False, elem_id="picked-run")
            picked_metrics = gr.Markdown(elem_id="picked-metrics")
        sample = gr.Image(label="latest sample grid", type="pil", format="png", height=256,
                          elem_id="gallery-sample", elem_classes=["pf-grid"])

    def show(name: str):
        runs = {r.name: r for r in studio.list_runs()}
        summary = runs[name].metric_summary() if name in runs else ""
        return name, summary, (_load_sample(studio, name) if name else None)

    def on_select(evt: gr.SelectData):
        row = evt.row_value or []
        return show(str(row[0]) if row else "")

    def on_thumb(evt: gr.SelectData):
        value = evt.value if isinstance(evt.value, dict) else {}
        return show(str(value.get("caption") or ""))

    on_load(lambda s: (runs_table(studio, s), thumbnails(studio)), [table, thumbs],
            "runs_table", also=refresh.click, inputs=sort)
    sort.change(lambda s: runs_table(studio, s), inputs=sort, outputs=table, api_name="runs_sort")
    table.select(guarded(on_select), outputs=[picked, picked_metrics, sample], api_name="pick_run")
    thumbs.select(guarded(on_thumb), outputs=[picked, picked_metrics, sample],
                  api_name="pick_thumbnail")
    return GalleryPage(picked, studio)


def image_walk(pipe, image_a, image_b, frames: int):
    """Frames [T, C, H, W] between two uploaded images' posterior means (VAE-family models);
    a class-conditional model walks in class 0."""
    from pixelforge.pipelines.autoencode import AutoencodePipeline

    if not isinstance(pipe, AutoencodePipeline):
        raise UserError(f"model {pipe.family!r} has no encoder: walks between two images need "
                        "a VAE-family model (vae, beta-vae, cvae, vae-gan)")
    a, b = (image_tensor(im, pipe.image_size, pipe.channels) for im in (image_a, image_b))
    labels = (0, 0) if pipe.num_classes else None
    return pipe.interpolate_images(a, b, frames, labels=labels)


def _label(value: str | None) -> int | None:
    return None if value in (None, "", ALL_CLASSES) else int(value)


def _truncation(value: float | None) -> float | None:
    return None if value is None or float(value) >= 1.0 else float(value)


def model_controls(studio: Studio, name: str | None, label: str | None = None):
    """Class choices (keeping `label` when the model has it) and truncation visibility."""
    if not name:
        return gr.update(choices=[ALL_CLASSES], value=ALL_CLASSES, visible=False), \
            gr.update(visible=True), ""
    from pixelforge.pipelines.autoencode import AutoencodePipeline

    ckpt = studio.checkpoint(name)
    pipe = load_generate(ckpt)
    k = pipe.num_classes
    is_vae = isinstance(pipe, AutoencodePipeline)
    classes = [ALL_CLASSES, *map(str, range(k))]
    text = (f"**{pipe.family}** {pipe.image_size}x{pipe.image_size}x{pipe.channels}, latent "
            f"{pipe.latent_dim}" + (f", {k} classes" if k else "") + f"; checkpoint "
            f"`{ckpt.name}`, hash `{model_hash(ckpt)}`")
    keep = label if label in classes else ALL_CLASSES
    return gr.update(choices=classes, value=keep, visible=bool(k)), \
        gr.update(visible=not is_vae), text


def generate_grid(studio: Studio, name, seed_v, count_v, trunc_v, label_v, past: list[dict]):
    """Generate's run: (grid, PNG with its parameters, their description, the history with the
    new grid first, the history as gallery items). Seed -1 draws one; the description says it."""
    ckpt = studio.checkpoint(name)
    pipe = load_generate(ckpt)
    seed_i, n = seed_of(seed_v), int(count_v)
    if not 1 <= n <= 64:
        raise UserError(f"count must be 1..64 (got {n})")
    t = _truncation(trunc_v)
    y = _label(label_v)
    # fp32, so the same seed gives the same pixels on any CPU (noise drawn on the CPU)
    images = pipe.generate(n, seed_i, labels=y, truncation=t, precision="fp32")
    from pixelforge.core.images import grid_image

    picture = grid_image(images)
    params = GenerationParams(model=name, model_hash=model_hash(ckpt), seed=seed_i,
                              count=n, truncation=t, label=y, pixelforge_version=__version__)
    path = studio.scratch(f"{name.replace('/', '_')}-seed{seed_i}.png")
    path.write_bytes(png_bytes(picture, params))
    past = [{"path": str(path), "seed": seed_i, "model": name}, *past][:HISTORY]
    shown = [(e["path"], f"{e['model']} seed {e['seed']}") for e in past]
    return picture, str(path), params.describe(), past, shown


@dataclass
class GeneratePage:
    """What other pages wire to: the model dropdown (gallery picks), the history's send-to."""

    model: gr.Dropdown
    send_seed: gr.Button
    send_image: gr.Button
    picked: gr.State  # the history entry picked: {"path", "seed", "model"}


def _send_to(gen: GeneratePage, built: list[tuple[Page, Any]]) -> None:
    """History send-to: the picked grid's seed and model to Interpolate, its image to Restore."""
    results = {p.id: r for p, r in built}
    walk, restore = results.get("interpolate"), results.get("restore")
    if walk is not None:
        gen.send_seed.click(
            lambda e: (gr.update(value=e["model"]), e["seed"]) if e else gr.skip(),
            inputs=gen.picked, outputs=[walk.model, walk.seed_a], api_name="send_seed"
        ).then(None, js=_show_tab("Interpolate"))
    if restore is not None:
        gen.send_image.click(lambda e: [e["path"]] if e else gr.skip(), inputs=gen.picked,
                             outputs=restore.upload, api_name="send_image"
                             ).then(**restore.on_upload, api_name="send_image_shown"
                                    ).then(None, js=_show_tab("Restore"))


def _show_tab(title: str) -> str:
    """JS that shows the tab whose title starts with `title`."""
    return (f"() => {{ const t = [...document.querySelectorAll('[role=tab]')]"
            f".find(b => b.textContent.trim().startsWith({title!r})); if (t) t.click(); }}")


@page("generate", "Generate", order=20, follows_gallery=True, link=_send_to)
def generate_page(studio: Studio) -> GeneratePage:
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                model = gr.Dropdown([], value=None, label="model", elem_id="gen-model", scale=4)
                refresh = gr.Button("↻", scale=0, min_width=40, elem_id="gen-refresh")
            about = gr.Markdown()
            with gr.Row():
                seed = gr.Number(-1, precision=0, label="seed (-1: random)", elem_id="gen-seed",
                                 scale=4)
                dice = gr.Button("🎲 random", scale=0, min_width=100, elem_id="gen-dice")
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
            history = gr.Gallery(label="history (pick one to send it on)", columns=8, height=160,
                                 allow_preview=False, object_fit="contain", fit_columns=False,
                                 elem_id="gen-history", elem_classes=["pf-thumbs"])
            with gr.Row():
                send_seed = gr.Button("seed → Interpolate", size="sm", elem_id="gen-send-seed")
                send_image = gr.Button("image → Restore", size="sm", elem_id="gen-send-image")
    entries = gr.State([])  # newest first: {"path", "seed", "model"}
    picked = gr.State(None)

    def run(name, seed_v, count_v, trunc_v, label_v, past):
        return generate_grid(studio, name, seed_v, count_v, trunc_v, label_v, past)

    def pick(past, evt: gr.SelectData):
        return past[evt.index] if 0 <= evt.index < len(past) else None

    def restore(file):
        if file is None:
            return [gr.update()] * 6
        im = open_checked_image(file, studio.cfg.limits, label="PNG info")
        p = read_params(im)
        choices = studio.model_choices("generate")
        note = p.describe()
        if p.model not in choices:
            note += f"\n\n**model {p.model!r} is not in this runs folder**"
        elif model_hash(studio.checkpoint(p.model)) != p.model_hash:
            note += "\n\n**warning: the model's weights changed since (hash differs)**"
        label_v = ALL_CLASSES if p.label is None else str(p.label)
        classes = gr.update(value=label_v)
        if p.model in choices:  # the model's own class list, with the stored class chosen
            classes = model_controls(studio, p.model, label_v)[0]
        return (gr.update(choices=choices, value=p.model if p.model in choices else None),
                p.seed, p.count, 1.0 if p.truncation is None else p.truncation, classes, note)

    on_load(lambda: gr.update(choices=studio.model_choices("generate")), model, "gen_models",
            also=refresh.click)
    dice.click(random_seed, outputs=seed, api_name="random_seed")
    model.change(guarded(lambda n, y: model_controls(studio, n, y)), inputs=[model, label],
                 outputs=[label, trunc, about], api_name="gen_model_info")
    event = go.click(guarded(run), inputs=[model, seed, count, trunc, label, entries],
                     outputs=[grid, download, params_md, entries, history], api_name="generate",
                     concurrency_id=MODEL_QUEUE)
    stop.click(None, cancels=[event])
    history.select(pick, inputs=entries, outputs=picked, api_name="history_pick")
    info.upload(guarded(restore), inputs=info,
                outputs=[model, seed, count, trunc, label, params_md], api_name="png_info")
    return GeneratePage(model, send_seed, send_image, picked)


@dataclass
class InterpolatePage:
    """What other pages wire to: the model dropdown (gallery picks) and seed A (send-to)."""

    model: gr.Dropdown
    seed_a: gr.Number


@page("interpolate", "Interpolate", order=30, follows_gallery=True)
def interpolate_page(studio: Studio) -> InterpolatePage:
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                model = gr.Dropdown([], value=None, label="model", elem_id="walk-model", scale=4)
                refresh = gr.Button("↻", scale=0, min_width=40, elem_id="walk-refresh")
            mode = gr.Radio(["two seeds", "two images (VAEs)"], value="two seeds", label="walk")
            with gr.Row():
                seed_a = gr.Number(0, precision=0, label="seed A (-1: random)", elem_id="walk-a")
                seed_b = gr.Number(1, precision=0, label="seed B (-1: random)", elem_id="walk-b")
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

        pipe = load_generate(studio.checkpoint(name))
        progress(0.1, desc="walking")
        a, b = seed_of(a), seed_of(b)
        if mode_v.startswith("two images"):
            if img_a is None or img_b is None:
                raise UserError("upload two images for an image-to-image walk")
            lim = studio.cfg.limits
            frames_t = image_walk(pipe, open_checked_image(img_a, lim, label="image A"),
                                  open_checked_image(img_b, lim, label="image B"), int(n))
        elif method_v == "style mixing":
            frames_t = pipe.style_mix(a, b, truncation=_truncation(trunc_v))
        else:
            frames_t = pipe.interpolate(a, b, int(n), method=method_v,
                                        truncation=_truncation(trunc_v))
        progress(0.7, desc="encoding")
        suffix = ".mp4" if fmt_v == "MP4" else ".gif"
        path = studio.scratch(f"walk-{a}-{b}{suffix}")
        scale = max(1, 128 // pipe.image_size)
        save_animation(frames_t, path, fps=int(fps_v), scale=scale)
        msg = (f"{len(frames_t)} frames ({method_v}), seeds {a} -> {b}, "
               f"{path.stat().st_size // 1024} KB")
        if suffix == ".gif":
            return gr.update(value=str(path), visible=True), gr.update(visible=False), \
                str(path), msg
        return gr.update(visible=False), gr.update(value=str(path), visible=True), str(path), msg

    on_load(lambda: gr.update(choices=studio.model_choices("interpolate")), model,
            "walk_models", also=refresh.click)
    mode.change(lambda m: [gr.update(visible=m.startswith("two images"))] * 2, inputs=mode,
                outputs=[image_a, image_b], api_name="walk_mode")
    event = go.click(guarded(run), inputs=[model, mode, seed_a, seed_b, image_a, image_b, frames,
                                          method, fmt, fps, trunc],
                     outputs=[gif, video, download, status], api_name="interpolate",
                     concurrency_id=MODEL_QUEUE)
    stop.click(None, cancels=[event])
    return InterpolatePage(model, seed_a)
