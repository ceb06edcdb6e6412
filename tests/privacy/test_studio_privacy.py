"""The studio shows a run's ε in the Gallery and starts a differentially private run from the
Train page's overrides (headless Chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium at /usr/bin/chromium"),
]
pytest.importorskip("gradio", reason="the studio needs gradio 6")
pytest.importorskip("playwright.sync_api")
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_npz, tiny_overrides, tiny_recipe, free_port):
    from pixelforge.config import build_config
    from pixelforge.studio.app import StudioConfig, launch
    from pixelforge.training import train

    root = tmp_path_factory.mktemp("studio-dp")
    runs = root / "runs"
    ov = tiny_overrides(tiny_npz, **{"privacy.target_epsilon": 3})
    train(build_config({}, ov), runs / "private", progress=False)
    (runs / "data").mkdir()
    (runs / "data" / "tiny.npz").write_bytes(tiny_npz.read_bytes())
    (root / "configs").mkdir()
    (root / "configs" / "tiny.yaml").write_text(tiny_recipe)
    cfg = StudioConfig(runs=runs, config_dir=root / "configs", cache_dir=root / "cache",
                       live_every=0.5)
    demo, url, app = launch(cfg, port=free_port(), block=False, quiet=True)
    try:
        yield app, url
    finally:
        app.jobs.stop_all()
        demo.close()


@pytest.fixture(scope="module")
def page(studio, chromium_page):
    return chromium_page(studio[1], TIMEOUT, viewport={"width": 1400, "height": 900})


def test_gallery_shows_the_runs_epsilon(studio, page):
    from pixelforge.checkpoint import describe_privacy, latest_checkpoint, privacy_record

    app, _ = studio
    want = describe_privacy(privacy_record(latest_checkpoint(app.runs / "private")))
    assert want.startswith("ε = ")
    page.locator("#runs-table").get_by_role("gridcell", name=want, exact=True).wait_for()


def test_a_dp_run_starts_from_the_train_page(studio, page):
    from pixelforge.checkpoint import privacy_record
    from pixelforge.runs import checkpoints

    app, _ = studio
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-name textarea, #train-name input").first.fill("dp")
    page.locator("#train-recipe input").first.click()
    page.get_by_role("option", name="tiny", exact=True).click()
    page.locator("#train-data input").first.click()
    page.get_by_role("option", name=str(app.runs / "data" / "tiny.npz"), exact=True).click()
    box = page.locator("#train-steps input[type=number]").first
    box.fill("4")
    box.press("Enter")
    page.locator("#train-overrides textarea").fill(
        "train.batch_size=16 train.log_every=1 train.sample_every=2 train.checkpoint_every=2 "
        "train.n_samples=4 train.precision=fp32 privacy.target_epsilon=10")
    page.locator("#train-start").click()
    page.wait_for_function(
        "/step 4/.test(document.querySelector('#train-progress').innerText)", timeout=120_000)
    app.jobs.stop_all()
    rec = privacy_record(checkpoints(app.runs / "dp")[-1])
    assert rec is not None and rec["target_epsilon"] == 10 and 0 < rec["epsilon"] <= 10
