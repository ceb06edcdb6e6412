"""The models shipped in the package (pixelforge/assets/models): they load, stay within 5 MB, and
the denoiser, upscalers and inpainter beat the classical method (NL-means, bicubic, Telea and
Navier-Stokes) on the committed test photos (tests/restoration/data, held out from training) with
seeded degradations, the inpainter also its own starting fill; the CLI verbs use them when no --model is given.
These comparisons fail with random or untrained weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.baselines import classical as cl
from pixelforge.cli.main import main
from pixelforge.data.degradations import item_seed, restoration_pair
from pixelforge.data.masks import random_mask
from pixelforge.metrics.restoration import psnr
from pixelforge.pipelines.restore import SHIPPED, SHIPPED_DIR, load_restorer

from .conftest import DATA, load_crop

PHOTOS = ["castillo_128.png", "colosseum_96.png", "polar_bear_96.png"]


@pytest.fixture(scope="module")
def crops() -> list[torch.Tensor]:
    return [load_crop(name)[None] for name in PHOTOS]  # [1, 3, H, W] each


def mean(values) -> float:
    return float(np.mean([float(v) for v in values]))


@pytest.mark.parametrize("name", sorted(SHIPPED.values()))
def test_shipped_model_is_installed_small_and_carded(name):
    folder = SHIPPED_DIR / name
    index = json.loads((folder / "model_index.json").read_text())
    size = sum(f.stat().st_size for f in folder.rglob("*.safetensors"))
    assert 0 < size <= 5 * 1024 * 1024
    assert not list(folder.rglob("training_state*"))  # only the exported network ships
    card = (folder / "MODEL_CARD.md").read_text()
    for needed in ("Data", "Budget", "Metrics", "Licence", "make models"):
        assert needed in card, needed
    assert index["pipeline"] in ("denoise", "upscale", "inpaint")


def test_shipped_denoiser_beats_tuned_nlmeans_at_sigma_25(crops):
    pipe = load_restorer("denoise")
    ours, nlm = [], []
    for i, c in enumerate(crops):
        x = restoration_pair(c, "noise:25", item_seed(7, i), quantize=True)["input"]
        ours.append(psnr(pipe.denoise(x, precision="fp32"), c))
        nlm.append(psnr(cl.nlmeans(x, 25.0), c))
    assert mean(ours) > mean(nlm) + 0.3, (mean(ours), mean(nlm))


def test_shipped_denoiser_beats_bm3d_given_the_true_sigma(crops):
    """Issue 20: the blind network >= BM3D + 0.5 dB at sigma 25, and at least BM3D at sigma 50,
    on the committed crops (BM3D knows sigma; the network does not). The DnCNN shipped before
    (8 x 32) was +0.38 dB at sigma 25 here, so the check fails for it."""
    pipe = load_restorer("denoise")
    for spec, margin in (("noise:25", 0.5), ("noise:50", 0.0)):
        ours, bm3d = [], []
        for i, c in enumerate(crops):
            x = restoration_pair(c, spec, item_seed(7, i), quantize=True)["input"]
            ours.append(psnr(pipe.denoise(x, precision="fp32"), c))
            bm3d.append(psnr(cl.bm3d_denoise(x, float(spec.split(":")[1])), c))
        assert mean(ours) >= mean(bm3d) + margin, (spec, mean(ours), mean(bm3d))


def test_shipped_denoiser_tiles_agree_with_one_pass(crops):
    """The default tile context (the model's tile_pad) keeps tiles within 1e-3 of a whole pass."""
    pipe = load_restorer("denoise")
    x = restoration_pair(crops[0], "noise:25", 3, quantize=True)["input"]  # 128 px
    whole = pipe.denoise(x, tile=0, precision="fp32")
    tiled = pipe.denoise(x, tile=48, precision="fp32")
    assert float((tiled - whole).abs().max()) / 2 < 1e-3


@pytest.mark.parametrize("scale", [2, 4])
def test_shipped_upscaler_beats_bicubic_on_y_psnr(crops, scale):
    pipe = load_restorer("upscale", scale=scale)
    ours, bic = [], []
    for i, c in enumerate(crops):
        pair = restoration_pair(c, f"bicubic:{scale}", item_seed(7, i), quantize=True)
        lr, hr = pair["input"], pair["target"]
        ours.append(psnr(pipe.upscale(lr, precision="fp32"), hr, crop=scale, y_channel=True))
        bic.append(psnr(cl.upscale_bicubic(lr, scale), hr, crop=scale, y_channel=True))
    assert mean(ours) > mean(bic) + 0.2, (mean(ours), mean(bic))


def test_shipped_inpainter_improves_on_its_fill_and_beats_telea_and_ns(crops):
    """The shipped inpainter corrects a harmonic (membrane) fill of the hole: in the hole it beats
    that fill (an untrained network, whose correction starts at zero, only equals it), Telea and
    Navier-Stokes. Measured: +0.26 dB over the fill, +0.88 dB
    over NS on these six holes."""
    from pixelforge.models.inpaint_unet import harmonic_fill

    pipe = load_restorer("inpaint")
    ours, fill, gray, classical = [], [], [], []
    for i, c in enumerate(crops):
        for k, protocol in enumerate(("medium", "thick")):
            m = random_mask(protocol, c.shape[-2], c.shape[-1], seed=item_seed(7, 10 * i + k))[None]
            x = c * (1 - m)
            ours.append(psnr(pipe.inpaint(x, m, precision="fp32"), c, mask=m))
            fill.append(psnr(x + harmonic_fill(x, m) * m, c, mask=m))
            gray.append(psnr(x, c, mask=m))
            classical.append(max(psnr(cl.inpaint_telea(x, m), c, mask=m),
                                 psnr(cl.inpaint_ns(x, m), c, mask=m)))
    assert mean(ours) > mean(fill) + 0.1, (mean(ours), mean(fill))
    assert mean(ours) > mean(classical) + 0.5, (mean(ours), mean(classical))
    assert mean(ours) > mean(gray) + 3, (mean(ours), mean(gray))


def _png(path, t: torch.Tensor) -> None:
    a = ((t[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(a).save(path)


def _read(path) -> torch.Tensor:
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"))
    return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_cli_verbs_use_the_shipped_models(crops, tmp_path):
    clean = crops[1]  # 96 x 96
    noisy = restoration_pair(clean, "noise:25", item_seed(3, 0), quantize=True)["input"]
    _png(tmp_path / "noisy.png", noisy)
    assert main(["denoise", str(tmp_path / "noisy.png"), "--out", str(tmp_path / "d"),
                 "--precision", "fp32"]) == 0
    out = _read(tmp_path / "d" / "noisy.png")
    assert out.shape == clean.shape
    assert float(psnr(out, clean)) > float(psnr(noisy, clean)) + 3

    lr = restoration_pair(clean, "bicubic:4", item_seed(3, 0), quantize=True)["input"]
    _png(tmp_path / "small.png", lr)
    assert main(["upscale", str(tmp_path / "small.png"), "--scale", "4", "--out",
                 str(tmp_path / "u"), "--precision", "fp32"]) == 0
    up = _read(tmp_path / "u" / "small.png")
    assert up.shape == clean.shape
    expected = load_restorer("upscale", scale=4).upscale(lr, precision="fp32")
    assert float((up - expected).abs().max()) <= 1.01 / 127.5  # the pipeline's result, 8-bit

    _png(tmp_path / "photo.png", clean)
    hole = np.zeros((96, 96), np.uint8)
    hole[30:60, 20:70] = 255  # white = hole
    Image.fromarray(hole).save(tmp_path / "mask.png")
    assert main(["inpaint", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "i"), "--precision", "fp32"]) == 0
    filled = _read(tmp_path / "i" / "photo.png")
    m = torch.from_numpy(hole > 0)[None, None].float()
    assert torch.equal(filled * (1 - m), _read(tmp_path / "photo.png") * (1 - m))
    expected = load_restorer("inpaint").inpaint(_read(tmp_path / "photo.png"), m, precision="fp32")
    assert float((filled - expected).abs().max()) <= 1.01 / 127.5  # the pipeline's result, 8-bit
    assert float(psnr(filled, clean, mask=m)) > float(psnr(clean * (1 - m), clean, mask=m)) + 2
    assert DATA.is_dir()


def _detail(t: torch.Tensor) -> float:
    """Mean absolute Laplacian of the luma: how much fine texture a picture carries."""
    y = (0.299 * t[:, 0] + 0.587 * t[:, 1] + 0.114 * t[:, 2])[:, None]
    k = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])[None, None]
    return float(torch.nn.functional.conv2d(y, k).abs().mean())


PHOTO_MODEL = SHIPPED_DIR / "upscale-x4-photo"


@pytest.mark.skipif(not (PHOTO_MODEL / "model_index.json").is_file(),
                    reason="upscale-x4-photo is not shipped in this version")
@pytest.mark.parametrize("spec", ["bicubic:4", "realistic:4"])
def test_shipped_photo_upscaler_is_sharper_than_the_psnr_model(crops, spec):
    """upscale-x4-photo restores fine texture the PSNR model leaves soft (its detail is closer to
    the truth's). On real-degraded input it also keeps the PSNR model's Y-PSNR (benchmark:
    +0.13 dB); on clean bicubic input it trades Y-PSNR for texture (benchmark: -3.8 dB), but stays
    far above what broken weights give."""
    photo, plain = load_restorer("upscale", "upscale-x4-photo"), load_restorer("upscale", scale=4)
    assert (PHOTO_MODEL / "MODEL_CARD.md").is_file()
    gaps, psnrs = {"photo": [], "plain": []}, {"photo": [], "plain": [], "bicubic": []}
    for i, c in enumerate(crops):
        pair = restoration_pair(c, spec, item_seed(7, i), quantize=True)
        lr, hr = pair["input"], pair["target"]
        outs = {"photo": photo.upscale(lr, precision="fp32"),
                "plain": plain.upscale(lr, precision="fp32"),
                "bicubic": cl.upscale_bicubic(lr, 4)}
        for k, o in outs.items():
            psnrs[k].append(psnr(o, hr, crop=4, y_channel=True))
            if k in gaps:
                gaps[k].append(abs(_detail(o.clamp(-1, 1)) / _detail(hr) - 1))
    assert mean(gaps["photo"]) < mean(gaps["plain"]), gaps
    if spec.startswith("realistic"):
        assert mean(psnrs["photo"]) > mean(psnrs["plain"]) - 0.5, psnrs
    else:
        assert mean(psnrs["photo"]) > mean(psnrs["bicubic"]) - 4, psnrs
