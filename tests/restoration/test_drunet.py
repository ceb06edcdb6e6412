"""The multi-scale denoiser (models/drunet.py): any size, identity at init, recipe within the size
cap, trained and resumed by the one trainer, run by the CLI with the context its tiles need."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from pixelforge import load
from pixelforge.cli.main import app
from pixelforge.config import load_config
from pixelforge.models import MODELS
from pixelforge.pipelines.restore import DenoisePipeline
from pixelforge.training import train

from .conftest import randomize
from .test_training import config, weights

TINY = {"widths": [4, 8, 8], "blocks": 1}


def build(**kw):
    return MODELS.get("drunet").build("denoiser", **kw)


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (33, 64), (64, 17), (101, 77)])
def test_any_size_maps_to_the_same_size_and_starts_as_the_identity(size):
    x = torch.rand(1, 3, *size) * 2 - 1
    with torch.no_grad():
        assert torch.equal(build(**TINY)(x), x)  # zero-initialised tail: predicted noise 0
        y = randomize(build(**TINY))(x)
    assert y.shape == x.shape and not torch.equal(y, x)


def test_registered_as_a_denoiser_and_the_recipe_fits_the_size_cap():
    assert MODELS.get("drunet").kind == "denoise"
    cfg = load_config("restoration/denoise_blind")
    net = build(**cfg.model.params)
    n = sum(p.numel() for p in net.parameters())
    assert 500_000 < n and n * 4 <= 5_000_000  # wider than the DnCNN, within the 5 MB cap
    with pytest.raises(ValueError, match="widths"):
        build(widths=[16], blocks=1)


def test_tiles_take_the_context_the_network_declares():
    net = randomize(build(**TINY), seed=1)
    pipe = DenoisePipeline({"denoiser": net})
    x = torch.rand(1, 3, 96, 80, generator=torch.Generator().manual_seed(0)) * 2 - 1
    whole = pipe.denoise(x, tile=0, precision="fp32")
    default = pipe.denoise(x, tile=32, precision="fp32")  # the model's tile_pad (64)
    short = pipe.denoise(x, tile=32, tile_pad=4, precision="fp32")
    err_default = float((default - whole).abs().max())
    assert err_default < float((short - whole).abs().max())
    assert net.tile_pad == 64


@pytest.fixture(scope="module")
def run(tiny_photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("drunet") / "run"
    train(config("denoise", tiny_photos, 4, **{"model.name": "drunet", "model.params": TINY}),
          out, progress=False)
    return out


def test_trains_and_resumes_bit_exactly(run, tiny_photos, tmp_path):
    half = tmp_path / "half"
    over = {"model.name": "drunet", "model.params": TINY}
    train(config("denoise", tiny_photos, 2, **over), half, progress=False)
    resumed = train(config("denoise", tiny_photos, 4, **over), half, resume=True, progress=False)
    full = sorted((run / "checkpoints").iterdir())[-1]
    a, b = weights(full), weights(resumed.checkpoint)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    index = json.loads((full / "model_index.json").read_text())
    assert index["model"] == "drunet" and index["pipeline"] == "denoise"


def test_cli_denoises_with_a_trained_run(run, tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "noisy.png"
    Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)).save(src)
    res = CliRunner().invoke(app, ["denoise", str(src), "--model", str(run),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    with Image.open(tmp_path / "out" / "noisy.png") as im:
        got = np.asarray(im.convert("RGB"))
    expected = load(run).denoise(torch.from_numpy(np.array(Image.open(src))).permute(2, 0, 1)
                                 [None].float() / 127.5 - 1, precision="fp32")
    want = ((expected[0].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    assert got.shape == (40, 52, 3)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 2  # auto precision vs fp32


def test_the_shipped_denoiser_exports_to_onnx_and_agrees_with_pytorch(tmp_path):
    """`pixelforge export` of the shipped blind denoiser: ONNX Runtime gives PyTorch's output on
    an input of another size than the traced one (H, W multiples of the stride, 8)."""
    ort = pytest.importorskip("onnxruntime")
    from pixelforge.pipelines.restore import SHIPPED_DIR

    folder = SHIPPED_DIR / "denoise-blind"
    res = CliRunner().invoke(app, ["export", str(folder), "--out", str(tmp_path / "d.onnx")])
    assert res.exit_code == 0, res.output
    gen = torch.Generator().manual_seed(0)
    clean = torch.linspace(-0.8, 0.8, 96).expand(1, 3, 64, 96).contiguous()
    noisy = clean + 0.2 * torch.randn(clean.shape, generator=gen)
    net = load(folder).components["denoiser"].float().eval()
    with torch.no_grad():
        ref = net(noisy).numpy()
    sess = ort.InferenceSession(str(tmp_path / "d.onnx"), providers=["CPUExecutionProvider"])
    out = sess.run(["images"], {"image": noisy.numpy()})[0]
    assert out.shape == ref.shape and float(np.abs(out - ref).max()) <= 1e-3
    # and it denoises: closer to the clean ramp than its input was
    assert np.abs(out - clean.numpy()).mean() < 0.5 * float((noisy - clean).abs().mean())
