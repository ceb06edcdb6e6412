"""Pipelines as the way into inference: typed properties (no attribute forwarding), the one
eval/precision wrapper that gives a network its training mode back, walks and style mixing as
pipeline methods, and the one strict way a network folder loads."""

from __future__ import annotations

import pytest
import torch

import pixelforge
from pixelforge.checkpoint import write_components
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.pipelines import GeneratePipeline
from pixelforge.pipelines.interpolate import interpolate, lerp, slerp
from pixelforge.pipelines.restore import DenoisePipeline, UpscalePipeline
from pixelforge.pipelines.sampling import generate_images, inference
from pixelforge.pipelines.translate import TranslatePipeline


def _gen(num_classes: int = 0):
    torch.manual_seed(0)
    return MODELS.get("dcgan").build("generator", image_size=16, channels=1, latent_dim=8,
                                     width=8, num_classes=num_classes).eval()


def _saved(tmp_path, g, name: str = "ck"):
    write_components(tmp_path / name, {"generator": g}, model="dcgan", kind="gan",
                     pipeline="generate")
    return pixelforge.load(tmp_path / name)


def test_typed_properties_and_no_forwarding(tmp_path):
    g = _gen(num_classes=3)
    pipe = _saved(tmp_path, g)
    assert (pipe.image_size, pipe.channels, pipe.latent_dim, pipe.num_classes) == (16, 1, 8, 3)
    assert (pipe.family, pipe.kind, pipe.style_based) == ("dcgan", "gan", False)
    for network_only in ("sample_latent", "synthesize", "parameters", "resolve_labels"):
        assert hasattr(g, network_only) and not hasattr(pipe, network_only), network_only


def test_one_wrapper_restores_the_training_mode():
    """Every verb runs its network in eval mode and hands it back in the mode it came in."""
    g = _gen()
    g.train()
    with inference(g, "fp32") as _:
        assert not g.training
    assert g.training
    pipe = GeneratePipeline({"generator": g})
    pipe.generate(2, seed=0, precision="fp32")
    pipe.interpolate(0, 1, 3)
    assert g.training
    torch.manual_seed(0)
    dn = MODELS.get("dncnn").build("denoiser", channels=3, width=8, depth=3).train()
    DenoisePipeline({"denoiser": dn}).denoise(torch.zeros(1, 3, 8, 8), precision="fp32")
    assert dn.training
    torch.manual_seed(0)
    sr = MODELS.get("srresnet").build("upscaler", scale=2, width=8, n_blocks=1).train()
    out = UpscalePipeline({"upscaler": sr}).upscale(torch.zeros(1, 3, 8, 8), precision="fp32")
    assert out.shape == (1, 3, 16, 16) and sr.training
    torch.manual_seed(0)
    tr = MODELS.get("pix2pix").build("generator", in_channels=3, out_channels=3, width=8,
                                     depth=3).train()
    TranslatePipeline({"generator": tr}).translate(torch.zeros(1, 3, 8, 8), noise=True)
    assert tr.training


def test_walks_are_pipeline_methods():
    g = _gen()
    pipe = GeneratePipeline({"generator": g})
    a = generate_images(g, 1, seed=3, precision="fp32")
    za, zb = g.sample_latent(1, 3)[0], g.sample_latent(1, 4)[0]
    with torch.no_grad():
        b = g.synthesize(g.sample_latent(1, 4)).clamp(-1, 1)
    by_lerp = pipe.interpolate(3, 4, 5, method="lerp")
    assert torch.allclose(by_lerp[0], a[0], atol=1e-5) and torch.allclose(by_lerp[-1], b[0],
                                                                          atol=1e-5)
    with torch.no_grad():
        middle = g.synthesize(lerp(za, zb, torch.tensor([0.5])))[0].clamp(-1, 1)
    assert torch.allclose(by_lerp[2], middle, atol=1e-5)
    assert torch.equal(pipe.interpolate(3, 4, 5), interpolate(g, 3, 4, 5))  # slerp by default
    assert not torch.allclose(slerp(za, zb, torch.tensor([0.5])), lerp(za, zb, torch.tensor([0.5])))
    with pytest.raises(UserError, match="method='cubic': use slerp or lerp"):
        pipe.interpolate(3, 4, 5, method="cubic")
    with pytest.raises(UserError, match="not style-based"):
        pipe.style_mix(3, 4)


def test_from_pretrained_loads_strictly_through_the_one_loader(tmp_path):
    """from_pretrained and pixelforge.load share PixelforgeModule.load_folder: the same
    network, and the same one-line UserError for weights that do not fit."""
    g = _gen()
    g.save_pretrained(tmp_path / "g")
    same = type(g).from_pretrained(str(tmp_path / "g"))
    assert torch.equal(generate_images(same, 3, seed=1), pixelforge.load(tmp_path / "g")
                       .generate(3, seed=1))
    other = MODELS.get("dcgan").build("generator", image_size=16, channels=1, latent_dim=8,
                                      width=16)
    other.save_pretrained(tmp_path / "wide")
    (tmp_path / "wide" / "config.json").write_text((tmp_path / "g" / "config.json").read_text())
    for load in (lambda: type(g).from_pretrained(str(tmp_path / "wide")),
                 lambda: pixelforge.load(tmp_path / "wide")):
        with pytest.raises(UserError, match="does not fit the dcgan generator"):
            load()
    (tmp_path / "wide" / "model.safetensors").unlink()
    (tmp_path / "wide" / "pytorch_model.bin").write_bytes(b"\x80\x04 a pickle")
    with pytest.raises(UserError, match="model.safetensors is missing"):
        type(g).from_pretrained(str(tmp_path / "wide"))
