"""Restoration networks: registered by kind, any input size, tiled == untiled, save/load by component."""

from __future__ import annotations

import pytest
import torch

import pixelforge
from pixelforge.checkpoint import write_components
from pixelforge.models import MODELS
from pixelforge.pipelines.restore import DenoisePipeline, InpaintPipeline, UpscalePipeline
from pixelforge.pipelines.tiled import tiled_apply

from .conftest import randomize

SIZES = [(1, 1), (7, 5), (33, 64), (64, 17), (101, 77)]  # odd, portrait and landscape


def build(name: str, **kw):
    fam = MODELS.get(name)
    return randomize(fam.build(next(iter(fam.networks)), **kw))


def test_families_are_registered_with_their_kinds():
    kinds = {n: MODELS.get(n).kind for n in ("dncnn", "srresnet", "inpaint-unet", "patchgan")}
    assert kinds == {"dncnn": "denoise", "srresnet": "upscale", "inpaint-unet": "inpaint",
                     "patchgan": "discriminator"}


@pytest.mark.parametrize("size", SIZES)
def test_any_size_maps_to_the_right_size(size):
    x = torch.rand(1, 3, *size) * 2 - 1
    with torch.no_grad():
        assert build("dncnn")(x).shape == x.shape
        for scale in (2, 4):
            y = build("srresnet", scale=scale, n_blocks=2, width=8)(x)
            assert y.shape == (1, 3, size[0] * scale, size[1] * scale)
        mask = (torch.rand(1, 1, *size) > 0.5).float()
        y = build("inpaint-unet", width=8)(x, mask)
        assert y.shape == x.shape
        assert torch.equal(y * (1 - mask), x * (1 - mask))  # known pixels untouched


def test_patchgan_patch_logits_and_condition():
    d = build("patchgan", width=8)
    assert d(torch.randn(2, 3, 70, 70)).shape == (2, 1, 6, 6)
    dc = build("patchgan", width=8, cond_channels=4)
    assert dc(torch.randn(1, 3, 64, 48), torch.randn(1, 4, 64, 48)).shape == (1, 1, 6, 4)
    with pytest.raises(pixelforge.errors.UserError, match="at least"):
        d(torch.randn(1, 3, 16, 16))


def test_default_networks_fit_the_size_budget():
    for name, kw in [("dncnn", {}), ("srresnet", {"scale": 4}), ("srresnet", {"scale": 2}),
                     ("inpaint-unet", {})]:
        fam = MODELS.get(name)
        net = fam.build(next(iter(fam.networks)), **kw)
        assert sum(p.numel() for p in net.parameters()) * 4 <= 5_000_000  # <= 5 MB in fp32


@pytest.mark.parametrize("name,scale", [("dncnn", 1), ("srresnet", 2), ("srresnet", 4)])
def test_tiled_equals_untiled_when_the_pad_covers_the_receptive_field(name, scale):
    kw = {} if name == "dncnn" else {"scale": scale, "n_blocks": 2, "width": 8}
    net = build(name, **kw)
    x = torch.rand(1, 3, 53, 70) * 2 - 1
    with torch.no_grad():
        whole = net(x)
        tiled = tiled_apply(net, x, scale=scale, tile=16, pad=net.receptive_radius)
        unpadded = tiled_apply(net, x, scale=scale, tile=16, pad=0)
    assert tiled.shape == whole.shape
    assert float((tiled - whole).abs().max()) / 2 < 1e-3  # [0, 1] scale
    assert float((unpadded - whole).abs().max()) / 2 > 1e-3  # the check can fail


def test_default_upscaler_receptive_field_fits_the_default_tile_pad():
    assert MODELS.get("srresnet").build("upscaler", scale=4).receptive_radius <= 16
    assert MODELS.get("dncnn").build("denoiser").receptive_radius <= 16


def test_components_save_and_load_as_pipelines(tmp_path):
    nets = {"denoise": ("dncnn", "denoiser", {}, DenoisePipeline),
            "upscale": ("srresnet", "upscaler", {"scale": 2, "n_blocks": 1, "width": 8},
                        UpscalePipeline),
            "inpaint": ("inpaint-unet", "inpainter", {"width": 8}, InpaintPipeline)}
    x = torch.rand(1, 3, 20, 24) * 2 - 1
    mask = torch.zeros(1, 1, 20, 24)
    mask[..., 5:12, 6:15] = 1
    for kind, (name, role, kw, cls) in nets.items():
        net = build(name, **kw)
        write_components(tmp_path / kind, {role: net}, model=name, kind=kind, pipeline=kind)
        pipe = pixelforge.load(tmp_path / kind)
        assert isinstance(pipe, cls)
        one = pixelforge.load(tmp_path / kind, component=role)
        assert type(one) is type(net)
        args = (x, mask) if kind == "inpaint" else (x,)
        with torch.no_grad():
            ref = net(*args).clamp(-1, 1)
        out = pipe(*args, precision="fp32")
        assert torch.allclose(out, ref, atol=1e-5)


def test_default_upscaler_tiles_exactly_at_the_cli_default_pad():
    net = randomize(MODELS.get("srresnet").build("upscaler", scale=4), std=0.03)
    pipe = UpscalePipeline({"upscaler": net})
    x = torch.rand(1, 3, 40, 52) * 2 - 1
    whole = pipe.upscale(x, tile=0, precision="fp32")
    tiled = pipe.upscale(x, tile=16, tile_pad=16, precision="fp32")
    assert float((tiled - whole).abs().max()) / 2 < 1e-3
