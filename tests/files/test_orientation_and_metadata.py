"""Phone photos through every image-to-image verb: the EXIF Orientation is applied on read, the
output is upright, and the ICC profile, EXIF (Orientation 1) and DPI are carried over."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms

from .conftest import VERBS, verb_argv

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _phone_jpeg(path, upright_path) -> np.ndarray:
    """A 20 wide x 12 high scene stored sideways (12 x 20) with Orientation 6, as phones do; the
    same scene written upright (no tag) as the reference. Returns the upright pixels."""
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 256, (20, 12, 3), dtype=np.uint8)  # H=20, W=12 as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    exif[0x010F] = "PhoneMaker"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes(), icc_profile=ICC,
                                 dpi=(300, 300))
    with Image.open(path) as im:  # the decoded stored pixels, turned by hand: 90 degrees clockwise
        upright = np.rot90(np.asarray(im.convert("RGB")), -1).copy()
    Image.fromarray(upright).save(upright_path)  # lossless reference of the same pixels
    return upright


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_orientation_6_comes_out_upright_with_its_metadata(verb, fmt, verb_models, run_cli,
                                                          tmp_path):
    src, ref = tmp_path / "phone.jpg", tmp_path / "ref" / "phone.png"
    ref.parent.mkdir()
    upright = _phone_jpeg(src, ref)
    code, _, err = run_cli(verb_argv(verb, verb_models, [src], tmp_path / "out", "--format", fmt))
    assert code == 0, err
    code, _, err = run_cli(verb_argv(verb, verb_models, [ref], tmp_path / "ref_out",
                                     "--format", fmt))
    assert code == 0, err
    out = tmp_path / "out" / f"phone.{fmt}"
    with Image.open(out) as got, Image.open(tmp_path / "ref_out" / f"phone.{fmt}") as want:
        scale = 2 if verb == "upscale" else 1
        assert got.size == (upright.shape[1] * scale, upright.shape[0] * scale)  # 20 wide
        assert np.array_equal(np.asarray(got), np.asarray(want))  # the same upright pixels
        assert got.info.get("icc_profile") == ICC
        exif = got.getexif()
        assert exif.get(0x0112, 1) == 1 and exif.get(0x010F) == "PhoneMaker"
        assert tuple(round(v) for v in got.info["dpi"]) == (300, 300)


def test_png_text_chunks_are_kept(verb_models, run_cli, tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "the old mill")
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)).save(
        tmp_path / "a.png", pnginfo=info)
    code, _, err = run_cli(verb_argv("denoise", verb_models, [tmp_path / "a.png"],
                                     tmp_path / "out"))
    assert code == 0, err
    with Image.open(tmp_path / "out" / "a.png") as im:
        assert im.text == {"Description": "the old mill"}
