"""Shared fixtures: tiny offline data, an isolated cache, and the shared data folder when present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ASSET = ROOT / "src" / "pixelforge" / "assets" / "mnist_12k.npz"

os.environ.setdefault("PIXELFORGE_CACHE", str(ROOT / ".cache" / "pixelforge-tests"))


# no wall-clock deadlines for property tests: the machines are shared and noisy
settings.register_profile("pixelforge", deadline=None)
settings.load_profile("pixelforge")


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """Tests (and in-process CLI calls with --threads) may change torch's thread count and the
    PERF switches: put them back."""
    from pixelforge.nn.perf import PERF

    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)
    PERF.reset()  # CLI options and A/B tests flip the speed switches


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own metric/extractor cache so results never leak between tests."""
    monkeypatch.setenv("PIXELFORGE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory) -> Path:
    """512 real MNIST digits (train) + 128 (test) as a small .npz in the shared-data format."""
    d = np.load(ASSET)
    path = tmp_path_factory.mktemp("data") / "tiny_mnist.npz"
    np.savez_compressed(path, x_train=d["x_train"][:512], y_train=d["y_train"][:512],
                        x_test=d["x_test"][:128], y_test=d["y_test"][:128])
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared data sets in {SHARED_DATA} (absent on a user's fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_overrides():
    """Builds a seed-dcgan config small enough to train a step in well under a second (a pure
    function, so session-scoped: module-scoped fixtures such as the studio's can use it)."""
    return _tiny_overrides


def _tiny_overrides(data: Path | str, **extra) -> dict:
    base = {"model.name": "seed-dcgan", "model.image_size": 16, "model.channels": 1,
            "model.latent_dim": 16, "data.path": str(data), "train.batch_size": 16,
            "train.steps": 6, "train.log_every": 1, "train.sample_every": 3,
            "train.checkpoint_every": 3, "train.n_samples": 4, "train.precision": "fp32",
            "eval.n_generated": 64, "eval.extractor_epochs": 1, "eval.batch_size": 64,
            "model.recipe": "none"}  # tests pick their settings; no recommended recipe mixes in
    base.update(extra)
    return base


# -- the studio's browser tests (tests/studio, tests/privacy) share one harness -------------------
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium: Playwright cannot download its own here
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def tiny_recipe() -> str:
    """A studio recipe small enough to train in seconds (written into the studio's recipes)."""
    return ("# tiny: a seed-dcgan small enough to train in seconds (tests only)\n"
            "model: {name: seed-dcgan, image_size: 16, channels: 1, latent_dim: 16}\n")


@pytest.fixture(scope="session")
def free_port():
    """free_port() -> a TCP port on 127.0.0.1 nobody listens on now."""
    import socket

    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return pick


@pytest.fixture(scope="module")
def chromium_page():
    """open(url, timeout_ms, **page_options) -> a page in headless chromium at `url`; every
    browser it started is closed with the test module, whatever happened."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as pw:
        browsers = []

        def open_page(url: str, timeout: float, **options):
            browsers.append(pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS))
            page = browsers[-1].new_page(**options)
            page.set_default_timeout(timeout)
            page.goto(url)
            return page

        try:
            yield open_page
        finally:
            for browser in browsers:
                browser.close()


@pytest.fixture(scope="session")
def privacy_benchmark_row():
    """A run's row of the committed benchmarks/results/privacy.json, by its name: what a shipped
    private recipe is checked against."""
    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "privacy.json"
    rows = {r["run"]: r for r in json.loads(results.read_text())["runs"]}
    return rows.__getitem__

