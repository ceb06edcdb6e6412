"""The translation networks: published sizes, shapes at any depth, registry roles, checkpoints."""

from __future__ import annotations

import pytest
import torch

import pixelforge
from pixelforge.checkpoint import write_components
from pixelforge.models import MODELS
from pixelforge.models.patchgan import PatchGAN
from pixelforge.models.resnet_translator import ResnetTranslator
from pixelforge.models.unet import UNetGenerator


def _params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_default_sizes_match_the_reference_implementation():
    """unet_256 and resnet_9blocks of junyanz/pytorch-CycleGAN-and-pix2pix have these counts."""
    assert _params(UNetGenerator(depth=8)) == 54_414_531
    assert _params(ResnetTranslator(n_blocks=9)) == 11_378_179


@pytest.mark.parametrize("depth", [2, 4, 6])
def test_unet_any_depth_keeps_size_and_maps_channels(depth):
    g = UNetGenerator(in_channels=1, out_channels=3, width=4, depth=depth).eval()
    h, w = 2 ** depth, 3 * 2 ** depth  # non-square
    with torch.no_grad():
        y = g(torch.randn(2, 1, h, w))
    assert y.shape == (2, 3, h, w) and float(y.abs().max()) <= 1.0
    assert g.stride == 2 ** depth


def test_unet_skip_connections_carry_full_resolution_detail():
    """A one-pixel change moves the output most near that pixel: the outermost skip connects
    input and output at full resolution (a plain encoder-decoder would blur it everywhere)."""
    torch.manual_seed(0)
    g = UNetGenerator(width=8, depth=4, dropout=0.0).eval()
    x = torch.zeros(1, 3, 32, 32)
    x2 = x.clone()
    x2[..., 5, 27] = 1.0
    with torch.no_grad():
        diff = (g(x2) - g(x)).abs().sum(1)[0]  # [32, 32]
    assert divmod(int(diff.argmax()), 32) in {(r, c) for r in range(4, 7) for c in range(26, 29)}


def test_dropout_is_the_noise_in_training_and_off_in_eval():
    torch.manual_seed(0)
    g = UNetGenerator(width=4, depth=5)
    x = torch.randn(2, 3, 32, 32)
    g.train()
    assert not torch.equal(g(x), g(x))  # dropout draws differ
    g.eval()
    assert torch.equal(g(x), g(x))
    assert sum(isinstance(m, torch.nn.Dropout) for m in g.modules()) == 3


def test_resnet_translator_reflect_instance_norm_and_upsamplers():
    g = ResnetTranslator(width=4, n_blocks=2).eval()
    assert any(isinstance(m, torch.nn.ReflectionPad2d) for m in g.modules())
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in g.modules())
    for up in ("deconv", "resize"):
        net = ResnetTranslator(width=4, n_blocks=1, upsample=up, in_channels=3, out_channels=1)
        assert net(torch.randn(1, 3, 12, 20)).shape == (1, 1, 12, 20)


def test_sizes_off_the_stride_are_refused_with_a_pointer_to_the_pipeline():
    with pytest.raises(ValueError, match="multiples of 8.*translate pipeline pads"):
        UNetGenerator(width=4, depth=3)(torch.randn(1, 3, 12, 16))
    with pytest.raises(ValueError, match="multiples of 4"):
        ResnetTranslator(width=4, n_blocks=1)(torch.randn(1, 3, 10, 16))


def test_registry_families_roles_and_kind():
    p2p, cyc = MODELS.get("pix2pix"), MODELS.get("cyclegan")
    assert p2p.kind == cyc.kind == "translation"
    assert set(p2p.networks) == {"generator", "discriminator"}
    assert set(cyc.networks) == {"generator_ab", "generator_ba", "discriminator_a",
                                 "discriminator_b"}
    for fam in (p2p, cyc):
        for role, cls in fam.networks.items():
            assert (cls.family, cls.role) == (fam.name, role)  # one class per role
    assert (PatchGAN.family, PatchGAN.role) == ("patchgan", "discriminator")  # not re-stamped
    d = p2p.build("discriminator", width=8)
    x = torch.randn(2, 3, 64, 64)
    assert d(x, x).shape == (2, 1, 6, 6)  # conditioned on the input by default
    with pytest.raises(ValueError, match="conditional"):
        d(x)


def test_component_checkpoint_loads_each_generator_alone(tmp_path, make_cyclegan):
    nets = make_cyclegan(seed=3)
    fam = MODELS.get("cyclegan")
    nets |= {"discriminator_a": fam.build("discriminator_a", width=4),
             "discriminator_b": fam.build("discriminator_b", width=4)}
    write_components(tmp_path, nets, model="cyclegan", kind="translation", pipeline="translate")
    x = torch.randn(1, 3, 16, 24)
    for name in ("generator_ab", "generator_ba"):
        alone = pixelforge.load(tmp_path, component=name)
        assert type(alone).role == name
        with torch.no_grad():
            assert torch.equal(alone(x), nets[name](x))
    pipe = pixelforge.load(tmp_path)
    assert type(pipe).__name__ == "TranslatePipeline" and pipe.directions == ["a2b", "b2a"]
