"""The chroma-only colouriser (kind colorize) as a user meets it: trained a few steps with
`pixelforge train --config translation/photos_colorize_chroma`, served by `pixelforge colorize`
on 8- and 16-bit gray files and gray or colour RGB files, each output keeping its input's luma
exactly; scored by `pixelforge eval`; the refusal when no colouriser ships. (--skip-bad, EXIF
and ICC for this verb: tests/files, parametrised over every image-file verb.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import pixelforge
from pixelforge.checkpoint import latest_checkpoint
from pixelforge.cli.main import main
from pixelforge.core.chroma import luma_of
from pixelforge.rundir import RunDir

TINY = ["--model.image_size", "32", "--model.params", "{width: 4, depth: 3}",
        "--train.batch_size", "2", "--train.sample_every", "3", "--train.checkpoint_every", "3",
        "--train.precision", "fp32"]


def _smooth_photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A colour picture with some structure (a colour gradient plus noise), uint8 [h, w, 3]."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([yy, xx, 1 - yy], axis=2) * rng.uniform(80, 255, 3)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("colour_photos")
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 4)):
        (root / split).mkdir()
        for i in range(n):
            Image.fromarray(_smooth_photo(rng, 40, 48)).save(root / split / f"p{i}.png")
    return root


@pytest.fixture(scope="session")
def chroma_run(tmp_path_factory, photos) -> Path:
    run = tmp_path_factory.mktemp("colorize") / "run"
    code = main(["train", "--config", "translation/photos_colorize_chroma", "--out", str(run),
                 "--data", str(photos), "--quiet", "--train.steps", "3", *TINY])
    assert code == 0
    return run


def _inputs(folder: Path) -> dict[str, np.ndarray]:
    """Gray 8-bit PNG, gray 16-bit PNG and TIFF, gray-valued RGB, a colour RGB: name -> luma."""
    folder.mkdir()
    rng = np.random.default_rng(3)
    g8 = rng.integers(0, 256, (37, 53)).astype(np.uint8)
    g16 = rng.integers(0, 65536, (29, 41)).astype(np.uint16)
    g16[0, :4] = [0, 65535, 1, 65534]
    Image.fromarray(g8).save(folder / "gray8.png")
    Image.fromarray(g16).save(folder / "gray16.png")
    Image.fromarray(g16).save(folder / "gray16_scan.tif")
    Image.fromarray(np.repeat(g8[..., None], 3, axis=2)).save(folder / "rgb_gray.png")
    colour = _smooth_photo(rng, 30, 35)
    Image.fromarray(colour).save(folder / "colour.png")
    return {"gray8.png": g8, "gray16.png": g16, "gray16_scan.tif": g16, "rgb_gray.png": g8,
            "colour.png": luma_of(colour)}


def _read_rgb(path: Path) -> np.ndarray:
    """[H, W, 3] uint8 or uint16, as written."""
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert arr is not None and arr.ndim == 3 and arr.shape[2] == 3, path
    return arr[..., ::-1]


def test_training_writes_a_chroma_colouriser(chroma_run):
    ckpt = latest_checkpoint(chroma_run)
    index = json.loads((ckpt / "model_index.json").read_text())
    assert (index["kind"], index["pipeline"], index["model"]) == ("colorize", "colorize",
                                                                  "colorizer")
    assert list(index["components"]) == ["generator_ab"]
    pipe = pixelforge.load(chroma_run)
    assert type(pipe).__name__ == "ColorizePipeline"
    assert pipe.generator("a2b")(torch.zeros(1, 1, 16, 16)).shape == (1, 2, 16, 16)


def test_colorize_keeps_every_inputs_luma_exactly(chroma_run, tmp_path, capsys):
    want = _inputs(tmp_path / "in")
    code = main(["colorize", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                 "--model", str(chroma_run)])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "colorized 5 image(s)" in cap.out
    notes = [ln for ln in cap.err.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 1 and "colour.png: a colour picture" in notes[0]  # rgb_gray: no note
    for name, luma in want.items():
        out = _read_rgb(tmp_path / "out" / Path(name).with_suffix(".png").name)  # png default
        assert out.dtype == luma.dtype if name != "colour.png" else out.dtype == np.uint8
        assert out.shape[:2] == luma.shape
        assert np.array_equal(luma_of(out), luma), name  # luma PSNR: infinite
    rgb8 = _read_rgb(tmp_path / "out" / "gray8.png").astype(int)
    assert (rgb8[..., 0] != rgb8[..., 2]).mean() > 0.5  # and it is coloured
    g8 = np.asarray(Image.open(tmp_path / "out" / "gray8.png").convert("L"))
    assert np.array_equal(g8, want["gray8.png"])  # Pillow's own gray conversion agrees


def test_a_picture_over_the_memory_budget_is_tiled_and_keeps_its_luma(chroma_run, tmp_path,
                                                                       capsys, caplog):
    gray = np.random.default_rng(4).integers(0, 256, (150, 170)).astype(np.uint8)
    (tmp_path / "in").mkdir()
    Image.fromarray(gray).save(tmp_path / "in" / "big.png")
    code = main(["colorize", str(tmp_path / "in" / "big.png"), "--out", str(tmp_path / "out"),
                 "--model", str(chroma_run), "--max-memory", "64M"])
    assert code == 0, capsys.readouterr().err
    assert "tiles" in caplog.text  # it was tiled
    assert np.array_equal(luma_of(_read_rgb(tmp_path / "out" / "big.png")), gray)


def test_without_a_shipped_colouriser_it_refuses_in_one_line(chroma_run, tmp_path, capsys,
                                                            monkeypatch):
    import pixelforge.pipelines.colorize as colorize

    monkeypatch.setattr(colorize, "SHIPPED_DIR", tmp_path / "models")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    code = main(["colorize", str(tmp_path / "a.png"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: no colouriser ships with this pixelforge")
    assert "--config translation/photos_colorize_chroma" in err[0]
    assert "--model runs/colorize" in err[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    # once one is installed there, it is the default
    shutil.copytree(latest_checkpoint(chroma_run), tmp_path / "models" / "colorize")
    assert main(["colorize", str(tmp_path / "a.png"), "--out", str(tmp_path / "shipped")]) == 0
    assert main(["colorize", str(tmp_path / "a.png"), "--out", str(tmp_path / "run"),
                 "--model", str(chroma_run)]) == 0
    assert ((tmp_path / "shipped" / "a.png").read_bytes()
            == (tmp_path / "run" / "a.png").read_bytes())


def test_a_pix2pix_colouriser_is_not_taken_for_a_chroma_one(colorize_ckpt, tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    code = main(["colorize", str(tmp_path / "a.png"), "--out", str(tmp_path / "out"),
                 "--model", str(colorize_ckpt)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not a chroma colouriser" in err[0]


def test_api_studio_and_translate_paths_keep_the_luma(chroma_run):
    from pixelforge.core.images import to_float, to_uint8
    from pixelforge.studio.restorers import restore

    pipe = pixelforge.load(chroma_run)
    levels = torch.randint(0, 256, (2, 1, 21, 30), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    x = to_float(levels)
    for out in (pipe.colorize(x), pipe.translate(x, direction="a2b"), pipe(x, tile=16)):
        rgb = to_uint8(out).permute(0, 2, 3, 1).numpy()
        assert np.array_equal(luma_of(rgb), levels[:, 0].numpy())
    loose = pipe.colorize(x, exact=False)  # float recombination: luma to float precision
    assert (to_uint8(loose).float() - to_uint8(pipe.colorize(x)).float()).abs().max() <= 2
    pic = restore(pipe, "colorize", Image.fromarray(levels[0, 0].numpy()))
    assert pic.mode == "RGB"
    assert np.array_equal(luma_of(np.asarray(pic)), levels[0, 0].numpy())


def test_eval_scores_colourfulness_and_luma_exactness(chroma_run, photos, capsys):
    code = main(["eval", str(chroma_run), "--data", str(photos)])
    assert code == 0, capsys.readouterr().err
    records = {r["metric"]: r["value"] for r in
               map(json.loads, RunDir(chroma_run).metrics.read_text().splitlines())}
    assert records["a2b_luma_exact"] == 1.0 and records["a2b_luma_max_error"] == 0.0
    assert records["a2b_colourfulness_real"] > 20  # the test photos are colourful
    assert records["a2b_colourfulness_ratio"] == pytest.approx(
        records["a2b_colourfulness"] / records["a2b_colourfulness_real"])


def test_interrupted_and_resumed_training_equals_one_run(photos, tmp_path, monkeypatch,
                                                         flat_tensors):
    """2 steps, Ctrl-C, --resume to 4 == 4 steps in one go, tensor for tensor (generator,
    discriminator, both optimisers)."""
    from pixelforge.checkpoint import STATE_FILE, load_state
    from pixelforge.config import load_config
    from pixelforge.training import Interrupted, train
    from pixelforge.training.colorize import ColorizeTask

    over = {"data.path": str(photos), "train.steps": 4, "train.checkpoint_every": 2,
            "train.precision": "fp32", "model.image_size": 32, "train.batch_size": 2,
            "model.params": {"width": 4, "depth": 3}, "train.time_budget": None}
    cfg = load_config("translation/photos_colorize_chroma", over)
    train(cfg, tmp_path / "full", progress=False)
    step = ColorizeTask.train_step

    def interrupt_at_2(self, batch, i):
        if i == 2:
            raise KeyboardInterrupt
        return step(self, batch, i)

    monkeypatch.setattr(ColorizeTask, "train_step", interrupt_at_2)
    with pytest.raises(Interrupted):
        train(cfg, tmp_path / "split", progress=False)
    monkeypatch.undo()
    train(cfg, tmp_path / "split", resume=True, progress=False)
    full, split = (load_state(latest_checkpoint(tmp_path / r) / STATE_FILE)["task"]
                   for r in ("full", "split"))
    assert {"G", "opt_g", "adversary_0"} <= set(full)
    a, b = flat_tensors(full), flat_tensors(split)
    assert a.keys() == b.keys() and len(a) > 20
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_the_studio_restore_page_lists_and_runs_a_colouriser(chroma_run, tmp_path):
    from pixelforge.studio.context import Studio, StudioConfig
    from pixelforge.studio.pages_restore import restore_files, restore_kinds

    assert "colorize" in restore_kinds()
    shutil.copytree(chroma_run, tmp_path / "runs" / "colour")
    studio = Studio(StudioConfig(runs=tmp_path / "runs", cache_dir=tmp_path / "cache"))
    assert studio.model_choices("restore") == ["colour"]
    gray = np.random.default_rng(5).integers(0, 256, (24, 31)).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "old.png")
    _, _, written, status = restore_files(studio, studio.checkpoint("colour"), "colorize",
                                          [str(tmp_path / "old.png")], None, "", False)
    assert status.startswith("colorize: ")
    assert np.array_equal(luma_of(np.asarray(Image.open(written).convert("RGB"))), gray)


def test_a_colouriser_fine_tunes_from_a_trained_one(chroma_run, photos, tmp_path, capsys):
    """--init RUN (or the shipped model's name) starts G from that colouriser's weights: with
    a negligible lr_g the fine-tune's exported weights are the source's; a different shape is
    refused."""
    from pixelforge.pipelines.base import load_pipeline

    common = ["train", "--config", "translation/photos_colorize_chroma", "--data", str(photos),
              "--quiet", "--train.steps", "1", "--train.lr_g", "1e-12", *TINY]
    assert main([*common, "--out", str(tmp_path / "ft"), "--init", str(chroma_run)]) == 0
    assert main([*common, "--out", str(tmp_path / "fresh")]) == 0
    source, tuned, fresh = (dict(load_pipeline(p, component="generator_ab").named_parameters())
                            for p in (chroma_run, tmp_path / "ft", tmp_path / "fresh"))
    assert all(torch.allclose(source[k], tuned[k], rtol=0, atol=1e-9) for k in source)
    # the source trained 3 steps at lr 2e-4, so a fresh start is measurably elsewhere
    assert max((source[k] - fresh[k]).abs().max() for k in source) > 1e-4
    capsys.readouterr()
    code = main([*common, "--out", str(tmp_path / "wide"), "--init", str(chroma_run),
                 "--model.params", "{width: 8, depth: 3}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "train.init" in err[0] and "generator_ab does not match model.params" in err[0]


def test_chroma_gain_scales_the_colour_and_keeps_the_luma(chroma_run, tmp_path):
    """API: gain 0 is gray, gain 2 doubles the chroma, a gain outside 0-4 is refused by name;
    CLI: --chroma-gain 0 writes gray pixels with the input's luma, 9 exits 2 naming the flag."""
    pipe = pixelforge.load(chroma_run)
    assert pipe.chroma_gain == 1.0  # nothing fitted for this run
    x = torch.rand(2, 1, 24, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    one = pipe.chroma(x, precision="fp32")
    assert one.abs().max() > 0
    assert torch.allclose(pipe.chroma(x, precision="fp32", gain=2.0), 2 * one, atol=1e-6)
    assert torch.equal(pipe.chroma(x, precision="fp32", gain=0.0), torch.zeros_like(one))
    with pytest.raises(pixelforge.errors.UserError, match=r"^gain=5"):
        pipe.chroma(x, gain=5.0)
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (24, 30), dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    code = main(["colorize", str(tmp_path / "g.png"), "--model", str(chroma_run),
                 "--chroma-gain", "0", "--out", str(tmp_path / "o")])
    assert code == 0
    rgb = np.asarray(Image.open(tmp_path / "o" / "g.png").convert("RGB")).astype(int)
    assert np.array_equal(rgb[..., 0], gray) and np.array_equal(rgb[..., 2], gray)
    assert main(["colorize", str(tmp_path / "g.png"), "--model", str(chroma_run),
                 "--chroma-gain", "9", "--out", str(tmp_path / "o2")]) == 2


def test_fit_gain_matches_the_train_colourfulness_and_the_pipeline_uses_it(
        chroma_run, photos, tmp_path, monkeypatch):
    """benchmarks/translation.py fit-gain on a copy of the run, against "real" crops made from
    the model's own chroma times 2.5: the fit finds 2.5, load() applies it, and the outputs'
    colourfulness then equals the crops' (1%)."""
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import translation as bench
    from pixelforge.core.chroma import recombine
    from pixelforge.metrics.colourfulness import mean_colourfulness
    from pixelforge.pipelines.translate import to_gray

    ckpt = tmp_path / "ckpt"
    shutil.copytree(latest_checkpoint(chroma_run), ckpt)
    photos_in = torch.stack([torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1)
                             for p in sorted((photos / "train").glob("*.png"))]) / 127.5 - 1
    gray = bench.to_float(bench.to_uint8(to_gray(photos_in)))
    crops = recombine(gray, 2.5 * pixelforge.load(ckpt).chroma(gray, precision="fp32"))
    monkeypatch.setattr(bench, "colour_crops", lambda size: (crops[:2], crops))
    fitted = bench.cmd_fit_gain(argparse.Namespace(run=ckpt, size=32))
    assert fitted["chroma_gain"] == pytest.approx(2.5, abs=0.01)
    pipe = pixelforge.load(ckpt)
    assert pipe.chroma_gain == fitted["chroma_gain"]
    made = recombine(gray, pipe.chroma(gray, precision="fp32"))
    assert mean_colourfulness(made) == pytest.approx(mean_colourfulness(crops), rel=0.01)
