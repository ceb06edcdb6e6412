"""Studio building blocks without a browser: path containment, upload checks, zip extraction,
PNG metadata, override parsing, run discovery, import isolation."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelforge.errors import UserError
from pixelforge.runs import contained, find_runs, progress, read_jsonl
from pixelforge.studio.jobs import parse_overrides, recipes
from pixelforge.studio.pngmeta import GenerationParams, png_bytes, read_params
from pixelforge.studio.safety import Limits, extract_images_zip, open_checked_image

STUDIO_SRC = Path(__file__).resolve().parents[2] / "src" / "pixelforge" / "studio"


def _png(path: Path, size=(8, 8), mode="RGB") -> Path:
    Image.new(mode, size, 128).save(path)
    return path


# -- path containment ---------------------------------------------------------------------------

def test_contained_accepts_inside_and_refuses_escapes(tmp_path):
    root = tmp_path / "runs"
    (root / "a").mkdir(parents=True)
    assert contained(root, "a") == (root / "a").resolve()
    assert contained(root, root / "a" / "x.png") == (root / "a" / "x.png").resolve()
    for bad in ("../x", "a/../../x", "/etc/passwd", str(tmp_path), "a/\x00x"):
        with pytest.raises(UserError):
            contained(root, bad)


def test_contained_refuses_symlink_out(tmp_path):
    root, outside = tmp_path / "runs", tmp_path / "secret"
    root.mkdir()
    outside.mkdir()
    (outside / "key.txt").write_text("s")
    (root / "link").symlink_to(outside)
    with pytest.raises(UserError, match="outside"):
        contained(root, "link/key.txt")
    (root / "inner").mkdir()
    (root / "ok").symlink_to(root / "inner")  # a link that stays inside is fine
    assert contained(root, "ok") == (root / "inner").resolve()


# -- uploads ------------------------------------------------------------------------------------

def test_upload_checks_size_type_and_pixels(tmp_path):
    limits = Limits(image_bytes=16 * 1024, image_pixels=64 * 64)
    ok = open_checked_image(_png(tmp_path / "ok.png", (32, 32)), limits)
    assert ok.size == (32, 32)
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    with pytest.raises(UserError, match="not an image"):
        open_checked_image(text, limits)
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), np.uint8)).save(big)
    assert big.stat().st_size > 16 * 1024
    with pytest.raises(UserError, match="over the 16 KB limit"):
        open_checked_image(big, limits)
    bomb = _png(tmp_path / "bomb.png", (5000, 5000), mode="1")  # 25 Mpx, ~12 KB on disk
    assert bomb.stat().st_size < 16 * 1024
    with pytest.raises(UserError, match="pixel limit"):
        open_checked_image(bomb, limits)


# -- zip extraction -----------------------------------------------------------------------------

def _zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return path


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (4, 4)).save(buf, format="PNG")
    return buf.getvalue()


def test_zip_extracts_images_only(tmp_path):
    z = _zip(tmp_path / "d.zip", {"a/1.png": _png_bytes(), "2.png": _png_bytes(),
                                  "readme.txt": b"x", "__MACOSX/._1.png": b"junk"})
    assert extract_images_zip(z, tmp_path / "out", Limits()) == 2
    assert sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*.png")) == ["2.png", "a/1.png"]


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/abs/evil.png",
                                  "C:/evil.png", "..\\evil.png"])
def test_zip_slip_refused(tmp_path, name):
    z = _zip(tmp_path / "d.zip", {"ok.png": _png_bytes(), name: _png_bytes()})
    with pytest.raises(UserError, match="outside the archive"):
        extract_images_zip(z, tmp_path / "out" / "ds", Limits())
    assert not (tmp_path / "out" / "ds").exists()
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "out" / "evil.png").exists()


def test_zip_symlink_and_size_limits(tmp_path):
    z = _zip(tmp_path / "l.zip", {"ok.png": _png_bytes()}, symlink="link.png")
    with pytest.raises(UserError, match="symbolic link"):
        extract_images_zip(z, tmp_path / "a", Limits())
    big = _zip(tmp_path / "b.zip", {"zeros.png": b"\0" * 200_000})  # deflates to ~200 bytes
    with pytest.raises(UserError, match="unpacks to more than"):
        extract_images_zip(big, tmp_path / "b", Limits(zip_unpacked_bytes=100_000))
    assert not (tmp_path / "b").exists()
    notzip = tmp_path / "n.zip"
    notzip.write_bytes(b"hello")
    with pytest.raises(UserError, match="not a zip"):
        extract_images_zip(notzip, tmp_path / "n", Limits())


# -- PNG metadata -------------------------------------------------------------------------------

def test_png_params_round_trip(tmp_path):
    params = GenerationParams(model="runs/x", model_hash="0123abcd", seed=7, count=9,
                              truncation=0.7, label=3, pixelforge_version="0.1.0")
    pixels = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    path = tmp_path / "g.png"
    path.write_bytes(png_bytes(pixels, params))
    with Image.open(path) as im:
        assert read_params(im) == params
        assert "seed: 7" in im.text["parameters"]
        assert np.array_equal(np.asarray(im), np.asarray(pixels))  # metadata leaves pixels alone
    plain = _png(tmp_path / "plain.png")
    with Image.open(plain) as im, pytest.raises(UserError, match="no pixelforge"):
        read_params(im)


def test_png_params_reject_bad_types():
    pixels = Image.new("RGB", (2, 2))
    info = __import__("PIL.PngImagePlugin", fromlist=["PngInfo"]).PngInfo()
    info.add_text("pixelforge", json.dumps({"model": "m", "model_hash": "h", "seed": "7",
                                            "count": 1}))
    buf = io.BytesIO()
    pixels.save(buf, format="PNG", pnginfo=info)
    with Image.open(io.BytesIO(buf.getvalue())) as im, pytest.raises(UserError, match="seed"):
        read_params(im)


# -- training jobs ------------------------------------------------------------------------------

def test_overrides_parsing():
    assert parse_overrides("train.lr_g=1e-4 --model.image_size 16") == [
        "--train.lr_g=1e-4", "--model.image_size=16"]
    for bad in ("--out /etc", "data.path=/etc", "train.lr_g", "; rm -rf /"):
        with pytest.raises(UserError):
            parse_overrides(bad)


def test_recipes_carry_their_comment(tmp_path):
    (tmp_path / "gan").mkdir()
    (tmp_path / "gan" / "m.yaml").write_text("# DCGAN on MNIST\n# small\nmodel: {}\n")
    assert recipes(tmp_path) == {"gan/m": "DCGAN on MNIST small"}


# -- runs ---------------------------------------------------------------------------------------

def test_find_runs_reads_logs_metrics_and_skips_links_out(tmp_path):
    root = tmp_path / "runs"
    run = root / "group" / "r1"
    ck = run / "checkpoints" / "step-0000004"
    ck.mkdir(parents=True)
    (ck / "config.json").write_text(json.dumps({"_pixelforge": {"model": "dcgan"}}))
    (ck / "model.safetensors").write_bytes(b"")  # complete as far as the layout goes
    (ck / "meta.json").write_text(json.dumps({"step": 4, "train_seconds": 90.0}))
    (ck.parent / "latest").write_text(ck.name + "\n")  # the run's current checkpoint
    (run / "config.yaml").write_text("train: {steps: 10, batch_size: 8}\n")
    (run / "train_log.jsonl").write_text('{"step": 2, "loss_g": 1.0, "images_per_s": 16}\n'
                                         '{"step": 4, "loss_g": 0.5, "images_per_s": 16}\n{"st')
    (run / "metrics.jsonl").write_text(json.dumps({"metric": "fid", "value": 12.5,
                                                   "extractor_name": "mnist-cnn",
                                                   "n_generated": 500, "n_real": 1000,
                                                   "split": "test"}) + "\n")
    outside = tmp_path / "elsewhere"
    shutil_copy = outside / "r2" / "checkpoints"
    shutil_copy.mkdir(parents=True)
    (root / "linked").symlink_to(outside / "r2")
    runs = find_runs(root)
    assert [r.name for r in runs] == ["group/r1"]
    r = runs[0]
    assert (r.model, r.step, r.total_steps, r.train_seconds) == ("dcgan", 4, 10, 90.0)
    assert r.metric_summary() == "fid=12.5 (mnist-cnn, 500 gen, vs 1000 test)"
    p = progress(run)
    assert (p.step, p.total_steps, p.images_per_s) == (4, 10, 16)
    assert p.eta_seconds == pytest.approx(6 * 8 / 16, abs=1e-6)
    assert len(read_jsonl(run / "train_log.jsonl")) == 2  # the half-written line is skipped


# -- import isolation ---------------------------------------------------------------------------

def test_studio_never_imports_training_code():
    """Statically (every import in studio/ and runs.py) and at run time (building the app)."""
    pytest.importorskip("gradio", reason="the studio needs gradio 6")
    for path in [*STUDIO_SRC.glob("*.py"), STUDIO_SRC.parent / "runs.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(("pixelforge.training", "accelerate")), (path, name)
    code = ("import sys, tempfile, pathlib\n"
            "from pixelforge.studio.app import Studio, StudioConfig, build_app\n"
            "d = pathlib.Path(tempfile.mkdtemp())\n"
            "build_app(Studio(StudioConfig(runs=d / 'runs', cache_dir=d / 'cache')))\n"
            "bad = [m for m in sys.modules if m.startswith('pixelforge.training') "
            "or m.split('.')[0] == 'accelerate']\n"
            "assert not bad, bad\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


# -- model tools --------------------------------------------------------------------------------

def test_style_mixing_ends_at_each_seed_and_mixes_between():
    import torch

    from pixelforge.models.stylegan_lite import StyleGANLiteGenerator
    from pixelforge.pipelines import GeneratePipeline
    from pixelforge.pipelines.interpolate import lerp

    torch.manual_seed(0)
    g = StyleGANLiteGenerator(image_size=16, channels=1, latent_dim=8, width=8,
                              mapping_layers=1).eval()
    pipe = GeneratePipeline({"generator": g})
    assert pipe.style_based and not GeneratePipeline({"generator": _dcgan()}).style_based
    frames = pipe.style_mix(3, 4)
    assert frames.shape == (g.num_ws + 1, 1, 16, 16)
    with torch.no_grad():
        a, b = (g.synthesize(g.sample_latent(1, s)).clamp(-1, 1) for s in (3, 4))
    assert torch.allclose(frames[0], a[0], atol=1e-6)
    assert torch.allclose(frames[-1], b[0], atol=1e-6)
    middle = frames[g.num_ws // 2]
    assert not torch.allclose(middle, a[0], atol=1e-4) and not torch.allclose(middle, b[0], atol=1e-4)
    walked = pipe.interpolate(3, 4, 5, method="lerp")
    assert torch.allclose(walked[0], a[0], atol=1e-6) and torch.allclose(walked[-1], b[0], atol=1e-6)
    t = torch.tensor([0.0, 0.25, 1.0])
    assert torch.equal(lerp(torch.zeros(2), torch.ones(2) * 4, t)[:, 0], torch.tensor([0.0, 1, 4]))


def _dcgan():
    from pixelforge.models import MODELS

    return MODELS.get("dcgan").build("generator", image_size=16, channels=1, latent_dim=8,
                                     width=8)


# -- page registry ------------------------------------------------------------------------------

def test_pages_register_themselves_and_build_app_follows_their_order(tmp_path):
    """build_app shows one tab per registered page, by each page's declared order; a page
    registered from outside the studio's own modules appears where its order puts it."""
    gr = pytest.importorskip("gradio", reason="the studio needs gradio 6")
    from pixelforge.studio.app import Studio, StudioConfig, build_app
    from pixelforge.studio.pages import PAGES, Page, discover, register_page

    assert [p.id for p in discover()] == ["gallery", "generate", "interpolate", "restore",
                                          "train", "monitor"]
    studios = []
    register_page(Page("extra", "Extra", 35, lambda s: studios.append(s) or gr.Markdown("x")))
    try:
        studio = Studio(StudioConfig(runs=tmp_path / "runs", cache_dir=tmp_path / "cache"))
        demo = build_app(studio)
    finally:
        PAGES.pop("extra", None)
    tabs = [b.label for b in demo.blocks.values() if isinstance(b, gr.Tab)]
    assert tabs == ["Gallery", "Generate", "Interpolate", "Extra", "Restore / Translate",
                    "Train", "Monitor"]
    assert studios == [studio]


# -- page defaults and checks (issue 22 items 10-12) ---------------------------------------------

def _job_manager(tmp_path):
    from pixelforge.studio.jobs import JobManager

    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "tiny.yaml").write_text("model: {name: seed-dcgan, image_size: 16}\n")
    return JobManager(tmp_path / "runs", [], tmp_path / "configs")


def test_a_bad_override_is_refused_before_any_trainer_starts(tmp_path):
    """train.lr_g=abc fails on the page with the config's own one-line message naming the field,
    and nothing is started or written (the CLI's validation, not the trainer's)."""
    jobs = _job_manager(tmp_path)
    with pytest.raises(UserError, match=r"train\.lr_g: .*\(got 'abc'\)") as err:
        jobs.start("bad", recipe="tiny", data="default", steps=None, minutes=None,
                   overrides="train.lr_g=abc")
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match=r"train\.nope: unknown key"):
        jobs.start("bad", recipe="tiny", data="default", steps=None, minutes=None,
                   overrides="train.nope=1")
    assert not jobs.jobs and not (tmp_path / "runs" / "bad").exists()


def test_fresh_run_names_never_collide(tmp_path):
    from pixelforge.studio.jobs import AUTO_NAME_RE, fresh_run_name

    first = fresh_run_name(tmp_path)
    (tmp_path / first).mkdir()
    second = fresh_run_name(tmp_path)
    (tmp_path / second).mkdir()
    third = fresh_run_name(tmp_path)
    assert len({first, second, third}) == 3
    assert all(AUTO_NAME_RE.fullmatch(n) for n in (first, second, third))


def test_seed_minus_one_means_random():
    from pixelforge.studio.context import seed_of

    assert seed_of(7) == 7 and seed_of(0) == 0 and seed_of("12") == 12
    drawn = {seed_of(-1) for _ in range(20)} | {seed_of(None) for _ in range(5)}
    assert -1 not in drawn and len(drawn) > 1 and all(0 <= s < 2**31 for s in drawn)


def test_mask_box_and_invert():
    """The painted hole, its bounding box ('box around the paint'), and the inverse."""
    from pixelforge.studio.pages_restore import MASK_SHAPES, mask_from_editor

    layer = np.zeros((10, 12, 4), np.uint8)
    layer[2, 3, 3] = layer[6, 8, 3] = 115  # two dabs of the see-through brush
    value = {"layers": [layer]}
    painted = np.asarray(mask_from_editor(value, (12, 10))) > 0
    assert painted.sum() == 2 and painted[2, 3] and painted[6, 8]
    box = np.asarray(mask_from_editor(value, (12, 10), MASK_SHAPES[1])) > 0
    assert box.sum() == 5 * 6 and box[2:7, 3:9].all()
    inverted = np.asarray(mask_from_editor(value, (12, 10), invert=True)) > 0
    assert np.array_equal(inverted, ~painted)
    assert mask_from_editor({"layers": [np.zeros((10, 12, 4), np.uint8)]}, (12, 10)) is None


def test_gallery_table_has_one_column_per_metric(tmp_path):
    from pixelforge.studio.context import Studio, StudioConfig
    from pixelforge.studio.pages_explore import COLUMNS, runs_table

    runs = tmp_path / "runs"
    for name, fid in (("a", 12.345), ("b", None)):
        (runs / name).mkdir(parents=True)
        (runs / name / "config.yaml").write_text("model: {name: seed-dcgan}\n")
        recs = [{"metric": "kid", "value": 0.01}]
        if fid is not None:
            recs += [{"metric": "fid", "value": 20.0}, {"metric": "fid", "value": fid}]
        (runs / name / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    table = runs_table(Studio(StudioConfig(runs=runs, cache_dir=tmp_path / "c")), "name")
    assert list(table.columns) == COLUMNS + ["kid", "fid"]
    assert table["run"].tolist() == ["a", "b"]
    assert table["fid"].tolist() == ["12.35", ""]  # the latest value, not the first
    assert table["kid"].tolist() == ["0.01", "0.01"]


def test_a_user_stop_is_logged_as_such(tmp_path):
    """The page's Stop: the log and the status say "stopped by user", not "error: interrupted"."""
    from pixelforge.studio.jobs import STUDIO_LOG, TrainJob

    script = ("import signal, sys, time\n"
              "try:\n    print('ready', flush=True)\n    time.sleep(60)\n"
              "except KeyboardInterrupt:\n"
              "    print('error: interrupted at step 3; checkpoint saved', flush=True)\n"
              "    sys.exit(130)\n")
    log = open(tmp_path / STUDIO_LOG, "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: __import__("signal").signal(
                                2, __import__("signal").default_int_handler))
    log.close()
    try:
        job = TrainJob("r", tmp_path, [], proc)
        while "ready" not in job.output() and proc.poll() is None:  # the child is in its sleep
            try:
                proc.wait(0.05)
            except subprocess.TimeoutExpired:
                pass
        job.stop()
        proc.wait(30)
        assert job.status() == "stopped by user (resumable)"
        shown = job.output()
        assert "stopped by user" in shown and "error: interrupted" not in shown
        assert "step 3" in shown
        assert "error: interrupted" in (tmp_path / STUDIO_LOG).read_text()  # the log is kept
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_model_calls_share_one_queue_that_shows_places(tmp_path):
    """Generate, Interpolate and Restore wait in one queue (launch sets its limit to 1), and
    their outputs show gradio's full progress, which includes the place in the queue."""
    pytest.importorskip("gradio", reason="the studio needs gradio 6")
    from pixelforge.studio.app import Studio, StudioConfig, build_app

    demo = build_app(Studio(StudioConfig(runs=tmp_path / "runs", cache_dir=tmp_path / "cache")))
    fns = {f.api_name: f for f in demo.fns.values()}
    heavy = [fns[n] for n in ("generate", "interpolate", "restore")]
    assert {f.concurrency_id for f in heavy} == {"model"}
    assert {f.show_progress for f in heavy} == {"full"}
    assert fns["train_progress"].concurrency_id != "model"  # the live view never waits behind
