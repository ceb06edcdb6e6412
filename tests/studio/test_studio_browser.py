"""End-to-end: the studio in a real headless Chromium (Playwright), on a tiny trained checkpoint.

Screenshots of each page go to PIXELFORGE_STUDIO_ARTIFACTS (default: a pytest tmp folder)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install chromium) for the browser tests"),
]
pytest.importorskip("gradio", reason="the studio needs gradio 6")
pytest.importorskip("playwright.sync_api")

TIMEOUT = 45_000  # ms: generous, a busy 2-core CI box is slow; waits end when met


def _restoration_checkpoints(root: Path) -> None:
    """Small random-weight denoise / upscale / inpaint checkpoints (sizes and wiring, not quality)."""
    import torch

    from pixelforge.checkpoint import write_components
    from pixelforge.models.dncnn import DnCNN
    from pixelforge.models.inpaint_unet import InpaintUNet
    from pixelforge.models.srresnet import SRResNet

    torch.manual_seed(0)
    for name, role, net, model in (("denoise", "denoiser", DnCNN(depth=3, width=8), "dncnn"),
                                   ("upscale", "upscaler", SRResNet(scale=2, n_blocks=1, width=8),
                                    "srresnet"),
                                   ("inpaint", "inpainter", InpaintUNet(width=8),
                                    "inpaint-unet")):
        write_components(root / name, {role: net}, model=model, kind=name, pipeline=name)


def _photo(path: Path, size=(56, 40)) -> Path:
    """A smooth colour picture with a little texture, w x h = size (not square on purpose)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 32 * 8], -1).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    path = Path(os.environ.get("PIXELFORGE_STUDIO_ARTIFACTS") or
                tmp_path_factory.mktemp("studio-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_npz, tiny_overrides, tiny_recipe, free_port):
    from pixelforge.config import build_config
    from pixelforge.studio.app import StudioConfig, launch
    from pixelforge.studio.safety import Limits
    from pixelforge.training import train

    root = tmp_path_factory.mktemp("studio")
    runs = root / "runs"
    train(build_config({}, tiny_overrides(tiny_npz)), runs / "tiny", progress=False)
    _restoration_checkpoints(runs / "restore")
    (runs / "data").mkdir()
    (runs / "data" / "tiny.npz").write_bytes(tiny_npz.read_bytes())
    (root / "configs").mkdir()
    (root / "configs" / "tiny.yaml").write_text(tiny_recipe)
    (root / "configs" / "a_first.yaml").write_text(tiny_recipe)  # first by name, not the default
    (root / "configs" / "demo.yaml").write_text(tiny_recipe)  # the default data's recipe
    limits = Limits(image_bytes=64 * 1024, image_pixels=1024 * 1024, zip_bytes=1 << 20)
    cfg = StudioConfig(runs=runs, config_dir=root / "configs", limits=limits,
                       cache_dir=root / "cache", live_every=0.5)
    demo, url, app = launch(cfg, port=free_port(), block=False, quiet=True)
    try:
        yield app, url
    finally:  # training jobs started from the page end with the module, whatever happened
        app.jobs.stop_all()
        demo.close()


@pytest.fixture(scope="module")
def page(studio, chromium_page):
    return chromium_page(studio[1], TIMEOUT, viewport={"width": 1280, "height": 900},
                         accept_downloads=True)


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _choose(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").first.click()
    page.get_by_role("option", name=option, exact=True).click()


def _set_number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")


def _upload(page, elem_id: str, path: Path | list[Path]) -> None:
    """Put a file (or several) into a gr.File, clearing the previous ones first."""
    clear = page.locator(f"#{elem_id}").get_by_role("button", name="Clear")
    if clear.count():
        clear.first.click()
    box = page.locator(f"#{elem_id} input[type=file]")
    box.first.wait_for(state="attached")
    paths = path if isinstance(path, list) else [path]
    box.first.set_input_files([str(p) for p in paths])


def _fetch(page, url: str) -> bytes:
    resp = page.request.get(url)
    assert resp.ok, (url, resp.status)
    return resp.body()


def _image_src(page, elem_id: str, timeout: float = TIMEOUT) -> str:
    img = page.locator(f"#{elem_id} img").first
    img.wait_for(state="visible", timeout=timeout)
    return img.get_attribute("src")


def _download_href(page, elem_id: str) -> str:
    link = page.locator(f"#{elem_id} a[href]").first
    link.wait_for(state="attached")
    return link.get_attribute("href")


CURVES_JS = """id => [...document.querySelectorAll('#' + id + ' g.mark-line path')]
    .filter(p => (p.getAttribute('d') || '').length > 2).length"""


def _curves(page, elem_id: str) -> int:
    """How many loss curves the line plot `elem_id` has drawn (Vega's SVG line marks with a
    non-empty path): gradio's LinePlot renders with vega-embed's SVG renderer."""
    return page.evaluate(CURVES_JS, elem_id)


def _wait_curves(page, elem_id: str, n: int, timeout: float = TIMEOUT) -> None:
    page.wait_for_function(f"({CURVES_JS})({elem_id!r}) >= {n}", timeout=timeout)


def test_starts_fast_and_shows_the_gallery(studio, page, artifacts):
    row = page.locator("#runs-table").get_by_role("gridcell", name="tiny", exact=True)
    page.locator("#runs-table").get_by_role("gridcell", name="seed-dcgan").first.wait_for()
    row.first.click()
    src = _image_src(page, "gallery-sample")  # the run's latest progress grid
    shown = Image.open(io.BytesIO(_fetch(page, src))).convert("RGB")
    samples = sorted((studio[0].runs / "tiny" / "samples").glob("step-*.png"))
    latest = Image.open(samples[-1]).convert("RGB")
    assert np.array_equal(np.asarray(shown), np.asarray(latest))  # that very grid, not another
    thumbs = page.locator("#runs-thumbs img")
    thumbs.first.wait_for()
    assert thumbs.count() == 1  # only `tiny` has samples (the restoration models have none)
    page.screenshot(path=str(artifacts / "gallery.png"), full_page=True)


def test_monitor_draws_the_curves_of_a_finished_run(studio, page, artifacts):
    _tab(page, "Monitor")
    _choose(page, "monitor-run", "tiny")
    page.wait_for_function("/tiny.*step [1-9]/"
                           ".test(document.querySelector('#monitor-progress').innerText)")
    from pixelforge.rundir import RunDir
    from pixelforge.runs import read_jsonl

    logged = {k for rec in read_jsonl(RunDir(studio[0].runs / "tiny").train_log)
              for k, v in rec.items() if "loss" in k and isinstance(v, (int, float))}
    _wait_curves(page, "monitor-plot", len(logged))
    # one drawn line per loss the run logged (loss_d and loss_g for this GAN), no more
    assert _curves(page, "monitor-plot") == len(logged) >= 2, logged
    page.screenshot(path=str(artifacts / "monitor-finished.png"), full_page=True)


def test_generate_matches_python_api_and_png_info_restores(studio, page, artifacts):
    import pixelforge
    from pixelforge.core.images import grid_image
    from pixelforge.studio.pngmeta import read_params

    app, _ = studio
    _tab(page, "Generate")
    _choose(page, "gen-model", "tiny")
    _set_number(page, "gen-seed", 5)
    _set_number(page, "gen-count", 4)
    page.locator("#gen-go").click()
    page.get_by_text("seed: 5").first.wait_for()
    shown = Image.open(io.BytesIO(_fetch(page, _image_src(page, "gen-grid"))))
    expected = grid_image(pixelforge.load(app.runs / "tiny").generate(4, seed=5,
                                                                      precision="fp32"))
    assert np.array_equal(np.asarray(shown.convert("RGB")), np.asarray(expected))
    png = _fetch(page, _download_href(page, "gen-file"))
    params = read_params(Image.open(io.BytesIO(png)))
    assert (params.model, params.seed, params.count, params.truncation) == ("tiny", 5, 4, None)
    page.screenshot(path=str(artifacts / "generate.png"), full_page=True)

    saved = artifacts / "generated.png"
    saved.write_bytes(png)
    _set_number(page, "gen-seed", 0)
    _set_number(page, "gen-count", 9)
    _upload(page, "png-info", saved)
    page.wait_for_function("document.querySelector('#gen-seed input').value === '5'")
    assert page.locator("#gen-count input[type=number]").input_value() == "4"

    # the history keeps the grid; send its seed to Interpolate and its picture to Restore
    page.locator("#gen-history img").first.click()
    page.locator("#gen-send-seed").click()
    page.wait_for_function("(document.querySelector('#walk-a input') || {}).value === '5'")
    assert page.get_by_role("tab", name="Interpolate").get_attribute("aria-selected") == "true"
    _tab(page, "Generate")
    page.locator("#gen-send-image").click()
    page.get_by_text(f"{expected.width}x{expected.height} RGB").first.wait_for()
    assert page.get_by_role("tab", name="Restore / Translate").get_attribute(
        "aria-selected") == "true"


def test_seed_minus_one_is_random_and_ctrl_enter_runs(studio, page):
    """-1 draws a seed and says which; that seed gives the same grid from Python; Ctrl+Enter
    runs the visible tab's primary button; the dice puts a random seed in the box."""
    import re

    import pixelforge
    from pixelforge.core.images import grid_image
    from pixelforge.studio.pngmeta import read_params

    app, _ = studio
    _tab(page, "Generate")
    _choose(page, "gen-model", "tiny")
    _set_number(page, "gen-count", 4)
    _set_number(page, "gen-seed", -1)
    before = re.search(r"seed: (\d+)", page.locator("#gen-params").inner_text())
    old = before.group(1) if before else ""  # an earlier test's grid may still be described
    page.locator("#gen-seed input[type=number]").press("Control+Enter")
    # the new description, not the old one under gradio's "processing" overlay
    page.wait_for_function("(() => { const m = document.querySelector('#gen-params').innerText"
                           f".match(/seed: (\\d+)/); return m !== null && m[1] !== {old!r}; }})()")
    used = int(re.search(r"seed: (\d+)", page.locator("#gen-params").inner_text()).group(1))
    assert page.locator("#gen-seed input[type=number]").input_value() == "-1"
    png = Image.open(io.BytesIO(_fetch(page, _download_href(page, "gen-file"))))
    assert read_params(png).seed == used  # the PNG written with this grid names the same seed
    expected = grid_image(pixelforge.load(app.runs / "tiny").generate(4, seed=used,
                                                                      precision="fp32"))
    assert np.array_equal(np.asarray(png.convert("RGB")), np.asarray(expected))
    page.locator("#gen-dice").click()
    page.wait_for_function("document.querySelector('#gen-seed input').value !== '-1'")
    assert int(page.locator("#gen-seed input[type=number]").input_value()) >= 0


def test_interpolation_writes_a_gif(studio, page, artifacts):
    _tab(page, "Interpolate")
    _choose(page, "walk-model", "tiny")
    _set_number(page, "walk-frames", 6)
    page.locator("#walk-go").click()
    page.get_by_text("6 frames").first.wait_for()
    gif = Image.open(io.BytesIO(_fetch(page, _download_href(page, "walk-file"))))
    assert gif.format == "GIF" and gif.n_frames == 10  # 6 there, 4 back (loop without a jump)
    page.screenshot(path=str(artifacts / "interpolate.png"), full_page=True)


def test_upscale_returns_the_right_size_on_a_slider(studio, page, artifacts, tmp_path):
    _tab(page, "Restore / Translate")
    _choose(page, "restore-model", "restore/upscale")
    _upload(page, "restore-upload", _photo(tmp_path / "photo.png"))
    page.get_by_text("56x40 RGB").first.wait_for()
    page.locator("#restore-go").click()
    page.get_by_text("upscale: (56, 40) -> (112, 80)").first.wait_for()
    after = Image.open(io.BytesIO(_fetch(page, _download_href(page, "restore-file"))))
    assert after.size == (112, 80)
    slider = page.locator("#restore-compare img")  # before | after, one slider
    assert slider.count() == 2
    sizes = {Image.open(io.BytesIO(_fetch(page, slider.nth(i).get_attribute("src")))).size
             for i in range(2)}
    assert sizes == {(56, 40), (112, 80)}
    page.screenshot(path=str(artifacts / "restore-compare.png"), full_page=True)


def test_restore_several_files_at_once(studio, page, tmp_path):
    import zipfile

    _tab(page, "Restore / Translate")
    _choose(page, "restore-model", "restore/upscale")
    a, b = _photo(tmp_path / "a.png"), _photo(tmp_path / "b.png", size=(24, 32))
    _upload(page, "restore-upload", [a, b])
    page.get_by_text("(+1 more)").first.wait_for()
    page.locator("#restore-go").click()
    page.get_by_text("2 images, all in the zip").first.wait_for()
    archive = zipfile.ZipFile(io.BytesIO(_fetch(page, _download_href(page, "restore-file"))))
    sizes = {n: Image.open(archive.open(n)).size for n in archive.namelist()}
    assert sizes == {"a-upscale.png": (112, 80), "b-upscale.png": (48, 64)}
    assert page.locator("#restore-results img").count() == 2


def test_shipped_upscaler_from_the_page_beats_bicubic(studio, page, tmp_path):
    """A fresh install's shipped x4 model, picked on the page, upscales a real photo better than
    bicubic (a check that random weights fail)."""
    from pixelforge.pipelines.restore import SHIPPED_DIR

    if not (SHIPPED_DIR / "upscale-x4" / "model_index.json").is_file():
        pytest.skip("the shipped upscale-x4 model is not installed")
    hr = Image.open(Path(__file__).parents[1] / "restoration" / "data" / "polar_bear_96.png")
    hr = hr.convert("RGB")  # [96, 96]
    lr = hr.resize((24, 24), Image.BICUBIC)
    lr.save(tmp_path / "bear_24.png")
    _tab(page, "Restore / Translate")
    _choose(page, "restore-model", "shipped: upscale-x4")
    _upload(page, "restore-upload", tmp_path / "bear_24.png")
    page.get_by_text("24x24 RGB").first.wait_for()
    page.locator("#restore-go").click()
    page.get_by_text("upscale: (24, 24) -> (96, 96)").first.wait_for()
    out = Image.open(io.BytesIO(_fetch(page, _download_href(page, "restore-file")))).convert("RGB")

    def psnr(a: Image.Image) -> float:
        err = np.asarray(a, np.float64) - np.asarray(hr, np.float64)
        return float(10 * np.log10(255.0**2 / np.mean(err**2)))

    assert out.size == (96, 96)
    assert psnr(out) > psnr(lr.resize((96, 96), Image.BICUBIC)) + 0.3


def test_draw_a_mask_and_inpaint(studio, page, artifacts, tmp_path):
    _tab(page, "Restore / Translate")
    photo = _photo(tmp_path / "photo.png")
    _upload(page, "restore-upload", photo)  # first the image, then the model: one editor update
    page.get_by_text("56x40 RGB").first.wait_for()
    _choose(page, "restore-model", "restore/inpaint")
    canvas = page.locator("#restore-mask canvas").first
    canvas.wait_for(state="visible")  # the inpaint model shows the canvas with the image on it
    page.locator("#restore-mask button[aria-label='Brush']").click()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 15, cy)
    page.mouse.down()
    page.mouse.move(cx + 15, cy, steps=8)
    page.mouse.up()
    page.locator("#restore-go").click()
    page.get_by_text("inpaint: (56, 40) -> (56, 40)").first.wait_for()
    after = np.asarray(Image.open(io.BytesIO(_fetch(page, _download_href(page, "restore-file"))))
                       .convert("RGB")).astype(int)
    before = np.asarray(Image.open(photo).convert("RGB")).astype(int)
    changed = (after != before).any(-1)  # [H, W]: the hole; every other pixel kept exactly
    assert 0.01 < changed.mean() < 0.9, changed.mean()
    assert changed[20, 28] and not changed[0, 0] and not changed[-1, -1]
    page.screenshot(path=str(artifacts / "restore.png"), full_page=True)


def test_bad_uploads_get_clear_messages(studio, page, artifacts, tmp_path):
    _tab(page, "Generate")
    notes = tmp_path / "notes.png"
    notes.write_text("this is text, not a picture")
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(big)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (4000, 4000)).save(bomb)  # 16 Mpx in a few KB
    seed = page.locator("#gen-seed input[type=number]").input_value()
    for path, message in ((notes, "is not an image"), (big, "over the 64 KB limit"),
                          (bomb, "pixel limit")):
        _upload(page, "png-info", path)
        page.get_by_text(message).first.wait_for()  # raises if the message never shows
        assert page.get_by_text(message).count() >= 1
    # a refusal is a toast: no output turns into an "Error" pill, every value stays in view
    assert page.locator("#gen-grid, #gen-params, #gen-seed, #gen-count, #gen-model").get_by_text(
        "Error", exact=True).count() == 0
    assert page.locator("#gen-seed input[type=number]").input_value() == seed
    page.screenshot(path=str(artifacts / "upload-refused.png"), full_page=True)


def test_zip_upload_adds_a_data_set(studio, page, tmp_path):
    import zipfile

    app, _ = studio
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(12):
            buf = io.BytesIO()
            Image.new("L", (20, 20), i * 20).save(buf, format="PNG")
            zf.writestr(f"set/{i:02d}.png", buf.getvalue())
        zf.writestr("notes.txt", "skipped")
    _tab(page, "Train")
    page.get_by_text("add a data set from a zip of images").click()
    page.locator("#train-zip-name input, #train-zip-name textarea").first.fill("faces")
    _upload(page, "train-zip", archive)
    page.get_by_text("unpacked 12 images").first.wait_for()
    assert len(list((app.runs / "data" / "faces").rglob("*.png"))) == 12


def test_train_from_the_page_then_stop_and_find_a_checkpoint(studio, page, artifacts):
    from pixelforge.runs import checkpoints

    app, _ = studio
    _tab(page, "Train")
    name = page.locator("#train-name textarea, #train-name input").first
    name.fill("e2e")
    _choose(page, "train-recipe", "tiny")
    _choose(page, "train-data", str(app.runs / "data" / "tiny.npz"))
    _set_number(page, "train-steps", 100000)
    _set_number(page, "train-minutes", 1)
    page.locator("#train-overrides textarea").fill(
        "train.batch_size=16 train.log_every=2 train.sample_every=4 train.checkpoint_every=100000 "
        "train.n_samples=4 train.precision=fp32")
    page.locator("#train-start").click()
    page.get_by_text("e2e: training").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "/step [1-9]/.test(document.querySelector('#train-progress').innerText)",
        timeout=60_000)
    _image_src(page, "train-sample", timeout=60_000)
    _wait_curves(page, "train-plot", 2)  # loss_d and loss_g, drawn while it trains
    page.screenshot(path=str(artifacts / "train.png"), full_page=True)
    page.locator("#train-stop").click()
    page.get_by_text("stopped by user (resumable)").first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('#train-output textarea').value"
                           ".includes('stopped by user at step')")
    assert "error: interrupted" not in page.locator("#train-output textarea").input_value()
    ckpts = checkpoints(app.runs / "e2e")
    assert ckpts and int(ckpts[-1].name.split("-")[1]) > 0
    _tab(page, "Monitor")  # the same live view for any run in the folder
    page.locator("#monitor-refresh").click()
    _choose(page, "monitor-run", "e2e")
    page.wait_for_function("/e2e.*step [1-9].*checkpoint step-/"
                           ".test(document.querySelector('#monitor-progress').innerText)")
    _wait_curves(page, "monitor-plot", 2)  # the finished run's curves
    page.screenshot(path=str(artifacts / "monitor.png"), full_page=True)


def test_a_reload_shows_new_runs_and_fresh_defaults(studio, page, artifacts):
    """Lists are filled on page load, not at server start; the run name is new per load; Train
    opens on the recipe for the default data (demo), not the first by name."""
    import shutil

    app, _ = studio
    page.reload()
    _tab(page, "Train")
    name_box = page.locator("#train-name textarea, #train-name input").first
    page.wait_for_function("document.querySelector('#train-name textarea, #train-name input')"
                           ".value.startsWith('studio-')")
    before = name_box.input_value()
    assert page.locator("#train-recipe input").first.input_value() == "demo"
    shutil.copytree(app.runs / "tiny", app.runs / "tiny-copy")  # a run made after the start
    page.reload()
    _tab(page, "Train")
    page.wait_for_function("document.querySelector('#train-name textarea, #train-name input')"
                           f".value.startsWith('studio-') && "
                           f"document.querySelector('#train-name textarea, #train-name input')"
                           f".value !== {before!r}")
    _tab(page, "Generate")
    _choose(page, "gen-model", "tiny-copy")
    page.get_by_text("latent 16; checkpoint").first.wait_for()  # the copy's checkpoint loads
    shutil.copytree(app.runs / "tiny", app.runs / "tiny-later")  # made while the page is open
    _tab(page, "Interpolate")
    page.locator("#walk-refresh").click()
    _choose(page, "walk-model", "tiny-later")
    page.screenshot(path=str(artifacts / "interpolate-refresh.png"), full_page=True)
