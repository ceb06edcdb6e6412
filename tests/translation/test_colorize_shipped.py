"""The colouriser shipped in the package (pixelforge/assets/models/colorize): within the 5 MB
cap, the default of `pixelforge colorize`, listed by the studio, and on three held-out photos
(tests/restoration/data, crops of photos/test) each output's luma is exactly the input's, and
on photos/test its colour statistics beat the gray input's and the classical lookup's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pixelforge.cli.main import main
from pixelforge.core.chroma import luma_of, rgb_to_ycbcr
from pixelforge.core.images import to_float, to_uint8
from pixelforge.pipelines.colorize import SHIPPED_NAME, load_colorizer
from pixelforge.pipelines.restore import SHIPPED_DIR, shipped_models

DATA = Path(__file__).resolve().parents[1] / "restoration" / "data"  # see its README.md
PHOTOS = ["castillo_128.png", "colosseum_96.png", "polar_bear_96.png"]


def load_crop(name: str) -> torch.Tensor:
    """A committed held-out photo crop as [1, 3, H, W] in [-1, 1]."""
    with Image.open(DATA / name) as im:
        a = np.asarray(im.convert("RGB"))
    return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_the_shipped_colouriser_is_installed_small_carded_and_listed():
    folder = SHIPPED_DIR / SHIPPED_NAME
    index = json.loads((folder / "model_index.json").read_text())
    assert index["kind"] == "colorize"
    assert sum(f.stat().st_size for f in folder.rglob("*.safetensors")) <= 5 * 1024 * 1024
    card = (folder / "MODEL_CARD.md").read_text()
    assert "Reinhard" in card and "benchmarks/translation.py" in card
    assert shipped_models("colorize") == {SHIPPED_NAME: folder}
    from pixelforge.studio.pages_restore import SHIPPED_PREFIX
    from pixelforge.studio.pages_restore import shipped_models as studio_list

    assert SHIPPED_PREFIX + SHIPPED_NAME in studio_list()


def test_the_shipped_colouriser_keeps_the_luma_on_held_out_photos():
    pipe = load_colorizer()  # the shipped one
    for name in PHOTOS:
        truth = load_crop(name)  # [1, 3, H, W]
        gray8 = to_uint8(rgb_to_ycbcr(truth)[0])  # its 8-bit BT.601 luma [1, 1, H, W]
        out = pipe.colorize(to_float(gray8), precision="fp32")
        assert np.array_equal(luma_of(to_uint8(out)[0].permute(1, 2, 0).numpy()),
                              gray8[0, 0].numpy())  # the luma is kept exactly
        assert float(rgb_to_ycbcr(out)[1].abs().mean()) > 0.02  # and colour was added


def test_the_shipped_colouriser_beats_the_classical_lookup_on_photo_statistics(shared_data):
    """On seeded crops of photos/test (as benchmarks/translation.py, fewer of them), the photo
    judge's FD of the shipped colouriser's output to the real crops is below the gray input's and
    the per-luma mean chroma lookup's (fitted on photos/train). A GAN colouriser paints plausible
    colour, not the true one, so per-pixel chroma error is no test of it."""
    from pixelforge.baselines.colorize import LumaChromaLookup
    from pixelforge.data.photos import photo_files
    from pixelforge.data.translation import GrayPairs
    from pixelforge.metrics.photo_judge import photo_fd
    from pixelforge.pipelines.translate import to_gray

    def crops(split: str, per_photo: int) -> torch.Tensor:
        ds = GrayPairs(photo_files(shared_data / "photos", split), size=128, crop="random",
                       seed=777, per_photo=per_photo)
        return torch.stack([ds.target(i) for i in range(len(ds))])

    test = crops("test", 3)
    gray = to_float(to_uint8(to_gray(test)))
    ours = load_colorizer().colorize(gray, precision="fp32")
    lookup = LumaChromaLookup.fit(crops("train", 2)).colorize(gray)
    fd = {name: photo_fd(x.clamp(-1, 1), test) for name, x in
          (("ours", ours), ("gray", gray.expand(-1, 3, -1, -1)), ("lookup", lookup))}
    assert fd["ours"] < min(fd["gray"], fd["lookup"]), fd


def test_colorize_without_model_uses_the_shipped_one(tmp_path):
    crop = to_uint8(load_crop("colosseum_96.png"))[0].permute(1, 2, 0).numpy()
    Image.fromarray(luma_of(crop).astype(np.uint8)).save(tmp_path / "old.png")
    assert main(["colorize", str(tmp_path / "old.png"), "--out", str(tmp_path / "a")]) == 0
    assert main(["colorize", str(tmp_path / "old.png"), "--model", "colorize", "--out",
                 str(tmp_path / "b")]) == 0
    a = np.asarray(Image.open(tmp_path / "a" / "old.png"))
    assert a.shape == (96, 96, 3)
    assert np.array_equal(luma_of(a), luma_of(crop))  # luma kept exactly
    assert a.std(axis=2).mean() > 1.0  # it did colour the picture
    assert (tmp_path / "b" / "old.png").read_bytes() == (tmp_path / "a" / "old.png").read_bytes()
