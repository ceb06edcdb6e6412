"""Studio pages: Train (start `pixelforge train` as a subprocess on a folder or an uploaded zip,
stop it with Ctrl-C) and Monitor (the same live view for any run, e.g. one started from the CLI)."""

from __future__ import annotations

import time

import gradio as gr
import pandas as pd

from pixelforge.errors import UserError
from pixelforge.rundir import RunDir
from pixelforge.runs import contained, progress
from pixelforge.studio.context import Studio, guarded, on_load
from pixelforge.studio.jobs import AUTO_NAME_RE, NAME_RE, fresh_run_name, recipes
from pixelforge.studio.pages import page
from pixelforge.studio.safety import extract_images_zip

IDLE_AFTER = 120  # seconds without a new log line before a run counts as not training
DEFAULT_RECIPE = "demo"  # the recipe made for the default data (the embedded MNIST subset)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def live_view(studio: Studio, name: str | None):
    """(progress text, loss curves as a long table, latest sample grid) of run `name`.

    The curves are never an empty table: a LinePlot whose first frame is empty never draws a
    line afterwards (Vega sees an infinite extent), so until rows exist the plot is left as is."""
    if not name:
        return "no run chosen", gr.skip(), None
    run = contained(studio.runs, name)
    p = progress(run)
    job = studio.jobs.get(name)
    log_file = RunDir(run).train_log
    quiet_for = time.time() - log_file.stat().st_mtime if log_file.is_file() else None
    if job is not None:
        state, active = job.status(), job.running
    elif quiet_for is not None and quiet_for < IDLE_AFTER:
        state, active = "training (started elsewhere)", True
    else:
        state, active = "not training", False
    total = f"/{p.total_steps}" if p.total_steps else ""
    speed = f"{p.images_per_s:.0f} images/s" if p.images_per_s else "? images/s"
    eta = f"; ETA {_duration(p.eta_seconds)}" if active else ""
    ckpt = f"; checkpoint `{p.checkpoint.name}`" if p.checkpoint else ""
    text = f"**{name}**: {state}; step {p.step}{total}; {speed}{eta}{ckpt}"
    rows = [(rec["step"], float(v), k) for rec in p.log for k, v in rec.items()
            if "loss" in k and isinstance(v, (int, float)) and isinstance(rec.get("step"), int)]
    df = pd.DataFrame(rows, columns=["step", "value", "loss"]) if rows else gr.skip()
    sample = None
    if p.sample is not None:
        from PIL import Image

        with Image.open(contained(studio.runs, p.sample)) as im:
            sample = im.convert("RGB")
    return text, df, sample


def unpack_zip(studio: Studio, file, ds_name: str):
    """A zip of images uploaded on Train -> a data set folder in <runs>/data, chosen as data."""
    if file is None:
        return gr.update(), ""
    if not NAME_RE.fullmatch(ds_name or ""):
        raise UserError(f"data set name {ds_name!r}: use letters, digits, '_', '-', '.'")
    dest = contained(studio.data_dir, ds_name)
    n = extract_images_zip(file, dest, studio.cfg.limits)
    return gr.update(choices=studio.jobs.data_choices(), value=str(dest)), \
        f"unpacked {n} images into `{dest}`"


def _live_widgets(prefix: str):
    status = gr.Markdown(elem_id=f"{prefix}-progress")
    with gr.Row():
        plot = gr.LinePlot(x="step", y="value", color="loss", label="training losses",
                           elem_id=f"{prefix}-plot")
        sample = gr.Image(label="latest samples", type="pil", format="png", height=280,
                          elem_id=f"{prefix}-sample", elem_classes=["pf-grid"])
    return status, plot, sample


@page("train", "Train", order=50)
def train_page(studio: Studio) -> None:
    recs = recipes(studio.cfg.config_dir)
    first = DEFAULT_RECIPE if DEFAULT_RECIPE in recs else next(iter(recs), None)
    with gr.Row():
        with gr.Column(scale=1):
            name = gr.Textbox(label="run name", placeholder="empty: a new name",
                              elem_id="train-name")
            recipe = gr.Dropdown(list(recs), value=first, label="recipe",
                                 elem_id="train-recipe")
            about = gr.Markdown(recs.get(first, "") if first else "no recipes found")
            data = gr.Dropdown(studio.jobs.data_choices(), value="default", label="data",
                               elem_id="train-data", allow_custom_value=False)
            with gr.Accordion("add a data set from a zip of images", open=False):
                zip_name = gr.Textbox(label="data set name", elem_id="train-zip-name")
                zip_file = gr.File(label="zip of images", file_types=[".zip"],
                                   elem_id="train-zip")
                zip_status = gr.Markdown(elem_id="train-zip-status")
            with gr.Row():
                steps = gr.Number(None, precision=0, label="steps (empty: the recipe's)",
                                  elem_id="train-steps")
                minutes = gr.Number(10, label="time budget (minutes)", elem_id="train-minutes")
            overrides = gr.Textbox(label="config overrides (section.key=value ...)", lines=2,
                                   elem_id="train-overrides",
                                   placeholder="e.g. train.lr_g=1e-4; a differentially private "
                                   "run: privacy.target_epsilon=10 (docs/privacy.md)")
            resume = gr.Checkbox(False, label="resume this run")
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="train-start")
                stop = gr.Button("Stop (saves, resumable)", variant="stop", elem_id="train-stop")
        with gr.Column(scale=2):
            current = gr.Textbox(label="run", interactive=False, elem_id="train-current")
            status, plot, sample = _live_widgets("train")
            output = gr.Textbox(label="trainer output", lines=6, max_lines=12,
                                elem_id="train-output")

    def add_zip(file, ds_name):
        return unpack_zip(studio, file, ds_name)

    def start_run(run_name, recipe_v, data_v, steps_v, minutes_v, overrides_v, resume_v):
        run_name = (run_name or "").strip()
        if not run_name or (not resume_v and AUTO_NAME_RE.fullmatch(run_name)
                            and (studio.runs / run_name).exists()):
            run_name = fresh_run_name(studio.runs)  # a page's default name is used up
        job = studio.jobs.start(run_name, recipe=recipe_v, data=data_v,
                                steps=int(steps_v) if steps_v else None,
                                minutes=float(minutes_v) if minutes_v else None,
                                overrides=overrides_v or "", resume=bool(resume_v))
        return job.name, job.name, f"started: `{' '.join(job.command[3:])}`"

    def stop_run(run_name):
        job = studio.jobs.get(run_name)
        if job is None or not job.running:
            raise UserError("no training started here is running")
        job.stop()
        return f"**{run_name}**: stopping (by user); saving a checkpoint"

    def tick(run_name):
        text, df, grid = live_view(studio, run_name) if run_name else ("", gr.skip(), None)
        job = studio.jobs.get(run_name) if run_name else None
        return text, df, grid, job.output() if job else ""

    recipe.change(lambda r: recs.get(r, ""), inputs=recipe, outputs=about,
                  api_name="recipe_about")
    on_load(lambda: (gr.update(choices=studio.jobs.data_choices()), fresh_run_name(studio.runs)),
            [data, name], "train_defaults")  # the lists as they are now, a new run name
    zip_file.upload(guarded(add_zip), inputs=[zip_file, zip_name], outputs=[data, zip_status],
                    api_name="add_zip")
    start.click(guarded(start_run), inputs=[name, recipe, data, steps, minutes, overrides, resume],
                outputs=[current, name, status], api_name="train_start")
    stop.click(guarded(stop_run), inputs=current, outputs=status, api_name="train_stop")
    timer = gr.Timer(studio.cfg.live_every)
    timer.tick(guarded(tick), inputs=current, outputs=[status, plot, sample, output],
               show_progress="hidden", concurrency_limit=None, concurrency_id="live",
               api_name="train_progress")


@page("monitor", "Monitor", order=60)
def monitor_page(studio: Studio) -> None:
    gr.Markdown("Follow any run in the runs folder, including one started with "
                "`pixelforge train` on the command line.")
    with gr.Row():
        run = gr.Dropdown([], value=None, label="run", elem_id="monitor-run", scale=4)
        refresh = gr.Button("↻", scale=0, min_width=40, elem_id="monitor-refresh")
    status, plot, sample = _live_widgets("monitor")

    def run_list():
        return gr.update(choices=[r.name for r in studio.list_runs()])

    on_load(run_list, run, "monitor_runs", also=refresh.click)
    timer = gr.Timer(studio.cfg.live_every)
    timer.tick(guarded(lambda n: live_view(studio, n)), inputs=run,
               outputs=[status, plot, sample], show_progress="hidden", concurrency_limit=None,
               concurrency_id="live", api_name="monitor_progress")
    run.change(guarded(lambda n: live_view(studio, n)), inputs=run,
               outputs=[status, plot, sample], api_name="monitor_view")
