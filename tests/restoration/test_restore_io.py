"""Restoration file I/O: every supported mode and bit depth survives read -> write unchanged."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from pixelforge.errors import UserError
from pixelforge.files import imageio as rio
from pixelforge.files import plan


def roundtrip(path, suffix=".png"):
    img = rio.read_image(path)
    data = rio.encode_result(img.rgb, img.alpha, gray=img.gray, bits=img.bits, suffix=suffix)
    return img, data


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "I;16", "P"])
def test_pillow_modes_roundtrip_losslessly(tmp_path, mode):
    rng = np.random.default_rng(0)
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65536, (7, 9), dtype=np.uint16))
    elif mode == "P":
        im = Image.fromarray(rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)).convert("P")
    else:
        bands = len(mode)
        a = rng.integers(0, 256, (7, 9, bands), dtype=np.uint8)
        im = Image.fromarray(a[..., 0] if bands == 1 else a, mode)
    im.save(tmp_path / "x.png")
    img, data = roundtrip(tmp_path / "x.png")
    with Image.open(tmp_path / "x.png") as src, Image.open(io.BytesIO(data)) as out:
        expect = src.convert("RGB") if mode == "P" else src
        assert out.mode == expect.mode and out.size == (9, 7)
        assert np.array_equal(np.asarray(out), np.asarray(expect))
    assert img.bits == (16 if mode == "I;16" else 8)


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_roundtrips_through_opencv(tmp_path, channels):
    a = np.random.default_rng(1).integers(0, 65536, (6, 5, channels), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "x.png"), a)
    img, data = roundtrip(tmp_path / "x.png")
    assert img.bits == 16 and (img.alpha is not None) == (channels == 4)
    out = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and np.array_equal(out, a)


def test_alpha_needs_a_format_that_holds_it(tmp_path):
    Image.new("RGBA", (4, 4), (1, 2, 3, 4)).save(tmp_path / "x.png")
    with pytest.raises(UserError, match="alpha"):
        roundtrip(tmp_path / "x.png", suffix=".jpg")


def test_inputs_outputs_and_refusals(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        Image.new("RGB", (4, 4)).save(tmp_path / d / "same.png")
    (tmp_path / "a" / "notes.txt").write_text("x")
    found = plan.collect_inputs([str(tmp_path / "a"), str(tmp_path / "*" / "*.png")])
    assert found == [tmp_path / "a" / "same.png", tmp_path / "b" / "same.png"]
    with pytest.raises(UserError, match="both be written"):
        plan.plan_outputs(found, tmp_path / "out", None)
    assert plan.plan_outputs(found[:1], tmp_path / "out", "jpg") == [tmp_path / "out" / "same.jpg"]
    with pytest.raises(UserError, match="decompression bomb"):
        rio.read_image(found[0], max_pixels=15)
    with pytest.raises(UserError, match="not an image"):
        rio.read_image(tmp_path / "a" / "notes.txt")


def test_mask_reading_white_is_hole_and_alpha_respected(tmp_path):
    a = np.zeros((4, 6), np.uint8)
    a[1:3, 2:5] = 255
    Image.fromarray(a).save(tmp_path / "m.png")
    m = rio.read_mask(tmp_path / "m.png", (6, 4))
    assert m.shape == (1, 1, 4, 6) and np.array_equal(m[0, 0].numpy() > 0, a > 0)
    rgba = np.full((4, 6, 4), 255, np.uint8)
    rgba[..., 3] = 0  # transparent white: not a hole
    rgba[0, 0, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "ma.png")
    assert int(rio.read_mask(tmp_path / "ma.png", (6, 4)).sum()) == 1
    with pytest.raises(UserError, match="must match"):
        rio.read_mask(tmp_path / "m.png", (5, 4))
