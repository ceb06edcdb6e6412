"""Translation at inference: any size, gray/RGB/RGBA/16-bit files, directions, padding, tiles."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import pixelforge
from pixelforge.errors import UserError
from pixelforge.pipelines.translate import (
    TranslatePipeline,
    match_channels,
    pad_to_multiple,
    reflect_pad,
    to_gray,
)


def translate_files(pipe, items, out_dir, **kw):
    """The file job's written paths (files.jobs.translate_files returns a JobReport)."""
    from pixelforge.files.jobs import translate_files as run

    return run(pipe, items, out_dir, **kw).written


def test_pad_to_multiple_reflects_and_the_crop_box_recovers_the_image():
    x = torch.arange(5 * 7, dtype=torch.float32).view(1, 1, 5, 7)
    padded, (y0, y1, x0, x1) = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (8, 8)
    assert torch.equal(padded[..., y0:y1, x0:x1], x)
    assert torch.equal(padded[0, 0, y0 - 1, x0:x1], x[0, 0, 1])  # reflected, not replicated
    big = reflect_pad(torch.rand(1, 3, 3, 2), 10, 9, 8, 7)  # pads larger than the sides
    assert big.shape == (1, 3, 22, 17)
    assert reflect_pad(torch.ones(1, 1, 1, 4), 2, 2, 0, 0).shape == (1, 1, 5, 4)


def test_gray_and_rgb_are_matched_to_the_generator():
    rgb = torch.rand(2, 3, 4, 4) * 2 - 1
    assert torch.allclose(to_gray(rgb), 0.299 * rgb[:, :1] + 0.587 * rgb[:, 1:2]
                          + 0.114 * rgb[:, 2:])
    gray = rgb[:, :1]
    assert torch.allclose(to_gray(match_channels(gray, 3)), gray, atol=1e-6)  # gray -> RGB -> luma
    assert match_channels(rgb, 1).shape == (2, 1, 4, 4)


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (37, 21), (21, 37), (64, 8)])
def test_any_size_round_trips_to_the_same_size(cyclegan_ckpt, colorize_ckpt, size):
    h, w = size
    cyc, col = pixelforge.load(cyclegan_ckpt), pixelforge.load(colorize_ckpt)
    x = torch.rand(2, 3, h, w) * 2 - 1
    assert cyc.translate(x, direction="a2b").shape == (2, 3, h, w)
    assert col.translate(x[:, :1]).shape == (2, 3, h, w)


def test_padding_keeps_a_stride_multiple_image_identical(colorize_ckpt):
    """An image already a multiple of the stride is not padded: same result as the bare net."""
    pipe = pixelforge.load(colorize_ckpt)
    x = torch.rand(1, 1, 16, 24) * 2 - 1
    with torch.no_grad():
        ref = pipe.generator()(x)
    # (channels_last kernels may round differently from the NCHW reference)
    assert torch.allclose(pipe.translate(x, precision="fp32"), ref.clamp(-1, 1), atol=1e-5)


def test_directions_pick_their_component(cyclegan_ckpt, colorize_ckpt):
    cyc = pixelforge.load(cyclegan_ckpt)
    x = torch.rand(1, 3, 8, 12) * 2 - 1
    ab = cyc.translate(x, direction="a2b", precision="fp32")
    ba = cyc.translate(x, direction="b2a", precision="fp32")
    with torch.no_grad():
        assert torch.allclose(ab, cyc.components["generator_ab"](x).clamp(-1, 1), atol=1e-5)
        assert torch.allclose(ba, cyc.components["generator_ba"](x).clamp(-1, 1), atol=1e-5)
    assert float((ab - ba).abs().max()) > 0.01
    with pytest.raises(UserError, match="both ways: pass direction"):
        cyc.translate(x)
    assert cyc.model is cyc.components["generator_ab"]  # the main network of a pair
    col = pixelforge.load(colorize_ckpt)
    assert col.directions == ["a2b"]
    with pytest.raises(UserError, match="a2b only, not b2a"):
        col.translate(x, direction="b2a")
    with pytest.raises(UserError, match="choose a2b or b2a"):
        col.translate(x, direction="up")


def test_dropout_noise_is_seeded_and_off_by_default(colorize_ckpt):
    pipe = pixelforge.load(colorize_ckpt)
    x = torch.rand(1, 1, 16, 16) * 2 - 1
    plain = pipe.translate(x, precision="fp32")
    s1 = pipe.translate(x, noise=True, seed=1, precision="fp32")
    assert torch.equal(s1, pipe.translate(x, noise=True, seed=1, precision="fp32"))
    assert not torch.equal(s1, pipe.translate(x, noise=True, seed=2, precision="fp32"))
    assert not torch.equal(s1, plain)
    assert torch.equal(plain, pipe.translate(x, precision="fp32"))  # dropout back off
    assert not pipe.generator().training
    torch.manual_seed(5)
    pipe.translate(x, noise=True, seed=1)
    after = torch.rand(1)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(1))  # the caller's global RNG stream is untouched


def test_tiled_translation_has_the_right_size_and_matches_with_enough_context(cyclegan_ckpt):
    cyc = pixelforge.load(cyclegan_ckpt)
    x = torch.rand(1, 3, 40, 52) * 2 - 1
    whole = cyc.translate(x, direction="a2b", precision="fp32")
    tiled = cyc.translate(x, direction="a2b", tile=16, tile_pad=8, precision="fp32")
    assert tiled.shape == whole.shape
    # InstanceNorm sees each tile's own statistics: close, not equal (see the module docstring)
    assert 0 < float((tiled - whole).abs().mean()) < 0.2
    full = cyc.translate(x, direction="a2b", tile=16, tile_pad=64, precision="fp32")
    assert torch.allclose(full, whole, atol=1e-5)  # context covering the image: identical


@pytest.fixture
def image_files(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(rng.integers(0, 256, (33, 50, 4), dtype=np.uint8), "RGBA").save(d / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (70, 19), dtype=np.uint8), "L").save(d / "gray.png")
    Image.fromarray(rng.integers(0, 256, (27, 13, 3), dtype=np.uint8)).save(d / "portrait.jpg")
    Image.fromarray(rng.integers(0, 65536, (21, 17), dtype=np.uint16)).save(d / "gray16.png")
    cv2.imwrite(str(d / "rgb16.png"), rng.integers(0, 65536, (23, 29, 3), dtype=np.uint16))
    return d


EXPECTED = {  # name: (width, height), mode of the output of an RGB-output model, 16 bit
    "rgba": ((50, 33), "RGBA", False), "gray": ((19, 70), "RGB", False),
    "portrait": ((13, 27), "RGB", False), "gray16": ((17, 21), "RGB", True),
    "rgb16": ((29, 23), "RGB", True),
}


@pytest.mark.parametrize("ckpt,direction", [("cyclegan_ckpt", "a2b"), ("cyclegan_ckpt", "b2a"),
                                            ("colorize_ckpt", None)])
def test_files_keep_size_alpha_and_bit_depth(request, image_files, tmp_path, ckpt, direction):
    pipe = pixelforge.load(request.getfixturevalue(ckpt))
    out = tmp_path / "out"
    done = translate_files(pipe, [str(image_files)], out, direction=direction, precision="fp32")
    assert sorted(p.name for p in done) == sorted(f"{k}.png" for k in EXPECTED)
    for name, (size, mode, sixteen) in EXPECTED.items():
        with Image.open(out / f"{name}.png") as im:
            assert (im.size, im.mode) == (size, mode), name
        raw = cv2.imread(str(out / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == (np.uint16 if sixteen else np.uint8), name
    src_alpha = np.asarray(Image.open(image_files / "rgba.png"))[..., 3]
    assert np.array_equal(np.asarray(Image.open(out / "rgba.png"))[..., 3], src_alpha)


def test_gray_output_models_write_gray_files(tmp_path, image_files):
    from pixelforge.models import MODELS

    g = MODELS.get("cyclegan").build("generator_ab", width=4, n_blocks=1, out_channels=1)
    pipe = TranslatePipeline({"generator_ab": g.eval()})
    done = translate_files(pipe, [str(image_files / "rgba.png")], tmp_path / "o")
    with Image.open(done[0]) as im:
        assert (im.size, im.mode) == ((50, 33), "LA")  # gray + the passed-through alpha


def test_bad_files_and_inputs_are_refused_clearly(cyclegan_ckpt, tmp_path, image_files):
    pipe = pixelforge.load(cyclegan_ckpt)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UserError, match="not an image"):
        translate_files(pipe, [str(tmp_path / "notes.png")], tmp_path / "o", direction="a2b")
    with pytest.raises(UserError, match="refusing to overwrite"):
        translate_files(pipe, [str(image_files / "gray.png")], image_files, direction="a2b")
    with pytest.raises(UserError, match=r"\[N, 1 or 3, H, W\]"):
        pipe.translate(torch.zeros(1, 4, 8, 8), direction="a2b")
