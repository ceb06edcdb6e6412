"""The denoise / upscale / inpaint verbs end to end on tiny files: modes, bit depths, mask polarity,
and one-line refusals (exit 2)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.checkpoint import write_components
from pixelforge.cli.main import main
from pixelforge.files import imageio as restore_io
from pixelforge.models import MODELS
from pixelforge.pipelines import restore

from .conftest import randomize


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny random-weight checkpoints of each kind, written as training would write them."""
    root = tmp_path_factory.mktemp("models")
    specs = {"denoise": ("dncnn", "denoiser", {"depth": 3, "width": 8}),
             "upscale": ("srresnet", "upscaler", {"scale": 2, "n_blocks": 1, "width": 8}),
             "inpaint": ("inpaint-unet", "inpainter", {"width": 8, "levels": 2})}
    for kind, (name, role, kw) in specs.items():
        net = randomize(MODELS.get(name).build(role, **kw), std=0.1)
        write_components(root / kind, {role: net}, model=name, kind=kind, pipeline=kind)
    return root


def rgb_file(path, w=23, h=17, seed=0, mode="RGB"):
    rng = np.random.default_rng(seed)
    bands = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    a = rng.integers(0, 256, (h, w, bands), dtype=np.uint8)
    Image.fromarray(a[..., 0] if bands == 1 else a, mode).save(path)
    return a


def err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_help_lists_the_verbs_and_mask_polarity(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(v in out for v in ("denoise", "upscale", "inpaint"))
    assert main(["inpaint", "--help"]) == 0
    assert "WHITE" in capsys.readouterr().out


def test_denoise_keeps_size_and_mode_and_never_overwrites(tmp_path, models, capsys):
    src = tmp_path / "in"
    src.mkdir()
    rgb_file(src / "a.png")
    rgb_file(src / "b.png", mode="L", seed=1)
    alpha = rgb_file(src / "c.png", mode="RGBA", seed=2)[..., 3]
    out = tmp_path / "out"
    assert main(["denoise", str(src), "--model", str(models / "denoise"), "--out", str(out)]) == 0
    with Image.open(out / "a.png") as a, Image.open(out / "b.png") as b, \
            Image.open(out / "c.png") as c:
        assert (a.mode, a.size, b.mode, c.mode) == ("RGB", (23, 17), "L", "RGBA")
        assert np.array_equal(np.asarray(c)[..., 3], alpha)  # alpha passed through
    capsys.readouterr()
    assert main(["denoise", str(src / "a.png"), "--model", str(models / "denoise"),
                 "--out", str(src)]) == 2
    assert "refusing to overwrite" in err_line(capsys)
    before = (src / "a.png").read_bytes()
    assert main(["denoise", str(src / "a.png"), "--model", str(models / "denoise"),
                 "--out", str(src), "--overwrite"]) == 0
    assert (src / "a.png").read_bytes() != before


def test_upscale_rgba_and_16_bit(tmp_path, models, capsys):
    rgb_file(tmp_path / "a.png", mode="RGBA")
    g16 = np.random.default_rng(0).integers(0, 65536, (9, 11), dtype=np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    c16 = np.random.default_rng(1).integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), c16)
    out = tmp_path / "out"
    assert main(["upscale", str(tmp_path / "*.png"), "--scale", "2", "--model",
                 str(models / "upscale"), "--out", str(out)]) == 0
    with Image.open(out / "a.png") as a, Image.open(out / "g16.png") as g:
        assert (a.mode, a.size) == ("RGBA", (46, 34))
        assert g.mode == "I;16" and g.size == (22, 18)
        assert len(np.unique(np.asarray(g))) > 256  # really 16-bit levels
    c = cv2.imread(str(out / "c16.png"), cv2.IMREAD_UNCHANGED)
    assert c.dtype == np.uint16 and c.shape == (18, 22, 3)
    capsys.readouterr()
    assert main(["upscale", str(tmp_path / "a.png"), "--scale", "4", "--model",
                 str(models / "upscale"), "--out", str(out)]) == 2
    assert "x2 only" in err_line(capsys)


def test_inpaint_mask_polarity_white_is_the_hole(tmp_path, models):
    rgb_file(tmp_path / "img.png", w=40, h=30)
    m = np.zeros((30, 40), dtype=np.uint8)
    m[8:20, 10:25] = 255  # white = hole
    Image.fromarray(m).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    assert main(["inpaint", str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"),
                 "--model", str(models / "inpaint"), "--out", str(out)]) == 0
    src = np.asarray(Image.open(tmp_path / "img.png")).astype(int)
    res = np.asarray(Image.open(out / "img.png")).astype(int)
    hole = m > 0
    assert np.array_equal(res[~hole], src[~hole])  # black = kept exactly
    assert np.abs(res[hole] - src[hole]).mean() > 5  # white = filled by the network
    box = tmp_path / "box"
    assert main(["inpaint", str(tmp_path / "img.png"), "--box", "10,8,15,12", "--model",
                 str(models / "inpaint"), "--out", str(box)]) == 0
    assert np.array_equal(np.asarray(Image.open(box / "img.png")), res)  # same hole, same result


def test_refusals_are_one_line(tmp_path, models, capsys, monkeypatch):
    (tmp_path / "notes.png").write_text("not an image")
    rgb_file(tmp_path / "img.png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "small_mask.png")
    cases = [
        (["denoise", str(tmp_path / "notes.png")], "not an image"),
        (["denoise", str(tmp_path / "nothing*.png")], "no such file"),
        (["inpaint", str(tmp_path / "img.png"), "--mask", str(tmp_path / "small_mask.png")],
         "must match"),
        (["inpaint", str(tmp_path / "img.png")], "exactly one of"),
        (["inpaint", str(tmp_path / "img.png"), "--box", "1,2,3"], "--box"),
        (["denoise", str(tmp_path / "img.png"), "--format", "gif2"], "--format"),
    ]
    for argv, msg in cases:
        kind = argv[0]
        code = main([*argv, "--model", str(models / kind), "--out", str(tmp_path / "o")])
        assert code == 2, argv
        assert msg in err_line(capsys)
    monkeypatch.setattr(restore_io, "DEFAULT_MAX_PIXELS", 100)
    assert main(["denoise", str(tmp_path / "img.png"), "--model", str(models / "denoise"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "decompression bomb" in err_line(capsys)


def test_without_a_model_and_none_shipped_a_clear_error(tmp_path, capsys, monkeypatch):
    """An install without the shipped models (a slim wheel, a deleted folder): exit 2 and a
    line that says so. The models ship with the package, so the folder is pointed away here."""
    rgb_file(tmp_path / "img.png")
    monkeypatch.setattr(restore, "SHIPPED_DIR", tmp_path / "no-models")
    assert main(["denoise", str(tmp_path / "img.png"), "--out", str(tmp_path / "o")]) == 2
    assert "no shipped denoise model" in err_line(capsys)
    assert not (tmp_path / "o").exists()


def _check_against_references(kind: str, s: dict) -> None:
    """Scores that can be wrong, checked against known values and the classical baselines
    (the models here have random weights, so only the baselines have known behaviour)."""
    import math

    if kind == "denoise":
        for sigma in (15, 25, 50):  # NL-means must beat the noisy input's PSNR, 20 log10(255/s)
            assert s[f"noise{sigma}_psnr_nlmeans"] > 20 * math.log10(255 / sigma), sigma
        # more noise, lower PSNR: the levels are not mixed up
        assert (s["noise15_psnr_nlmeans"] > s["noise25_psnr_nlmeans"]
                > s["noise50_psnr_nlmeans"])
    elif kind == "upscale":
        # two good interpolators agree within 1.5 dB and beat an untrained network
        assert abs(s["bicubic2_psnr_y_bicubic"] - s["bicubic2_psnr_y_lanczos"]) < 1.5
        assert s["bicubic2_psnr_y_bicubic"] > s["bicubic2_psnr_y"]
    else:
        # outside the hole the output is the input: the whole picture scores above its hole
        for method in ("", "_telea", "_ns"):
            for hole in ("thin", "medium", "thick"):
                assert s[f"{hole}_psnr{method}"] > s[f"{hole}_psnr_hole{method}"], (hole, method)
        assert s["thin_psnr_hole_telea"] > s["thick_psnr_hole_telea"]  # thin holes fill better


def test_inpaint_crops_around_the_mask_on_large_images(models):
    pipe = restore.load_restorer("inpaint", models / "inpaint")
    x = torch.rand(1, 3, 200, 300) * 2 - 1
    mask = torch.zeros(1, 1, 200, 300)
    mask[..., 90:100, 140:150] = 1
    assert restore.mask_crop_box(mask[0], max_side=128, margin=16) == (74, 116, 124, 166)
    assert restore.mask_crop_box(mask[0], max_side=300) is None  # small enough: whole image
    box = restore.mask_crop_box(mask[0], max_side=128)  # the default 64 px margin
    assert box == (26, 164, 76, 214)
    out = pipe.inpaint(x, mask, max_side=128, precision="fp32")
    assert torch.equal(out * (1 - mask), x * (1 - mask))
    y0, y1, x0, x1 = box
    with torch.no_grad():
        ref = pipe.model(x[..., y0:y1, x0:x1], mask[..., y0:y1, x0:x1])
    assert torch.allclose(out[..., y0:y1, x0:x1], ref.clamp(-1, 1), atol=1e-5)


@pytest.mark.parametrize("kind", ["denoise", "upscale", "inpaint"])
def test_eval_scores_each_kind_against_its_baseline(tmp_path, models, capsys, kind):
    import json

    from .conftest import DATA

    photos = tmp_path / "photos" / "test"
    photos.mkdir(parents=True)
    for name in ("colosseum_96.png", "polar_bear_96.png"):
        Image.open(DATA / name).crop((0, 0, 40, 36)).save(photos / name)
    ckpt = tmp_path / "ckpt"
    import shutil

    shutil.copytree(models / kind, ckpt)
    capsys.readouterr()
    # no --split: restoration models are scored on the held-out split by default (photos/train
    # does not exist here, so a "train" default would fail)
    assert main(["eval", str(ckpt), "--data", str(tmp_path / "photos"), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    expected = {"denoise": ["noise25_psnr", "noise25_psnr_nlmeans", "jpeg30_ssim"],
                "upscale": ["bicubic2_psnr_y", "bicubic2_psnr_y_bicubic"],
                "inpaint": ["thick_psnr_hole", "thick_psnr_hole_telea"]}[kind]
    assert all(k in scores for k in expected), sorted(scores)
    _check_against_references(kind, scores)
    records = [json.loads(line) for line in (ckpt / "metrics.jsonl").read_text().splitlines()]
    assert {r["metric"] for r in records} >= set(expected)
    assert all(r["n_images"] == 2 and "seed" in r for r in records)
