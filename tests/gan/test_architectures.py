"""GAN architectures: dcgan and resnet-gan variants (conditional, AC-GAN, attention, spectral norm)
and the blocks in nn/layers.py."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import pixelforge
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.nn.layers import (
    ConditionalBatchNorm2d,
    ProjectionHead,
    SelfAttention,
    apply_spectral_norm,
    spectral_norm_weights,
)
from pixelforge.pipelines.sampling import generate_images

FAMILIES = ["dcgan", "resnet-gan"]
VARIANTS = {
    "uncond": {},
    "proj": {"num_classes": 10},
    "proj+ac": {"num_classes": 10, "aux_classifier": True},
    "attn": {"attention": 8},
    "ac+attn+sn": {"num_classes": 10, "aux_classifier": True, "projection": False,
                   "attention": 4, "spectral_norm": True, "g_spectral_norm": True},
}


def build(name: str, size: int = 16, channels: int = 3, **opts):
    fam = MODELS.get(name)
    shape = dict(image_size=size, channels=channels, latent_dim=8, width=8, **opts)
    fam.check_params({k: v for k, v in shape.items()
                      if k not in ("image_size", "channels", "latent_dim")})
    torch.manual_seed(0)
    return fam.build("generator", **shape), fam.build("discriminator", **shape)


def labels_for(g, n: int):
    return torch.arange(n) % g.num_classes if g.num_classes else None


def run_g(g, z, y):
    return g(z, y) if y is not None else g(z)


def split(out):
    return out if isinstance(out, tuple) else (out, None)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", FAMILIES)
def test_shapes_and_outputs(name, variant):
    opts = VARIANTS[variant]
    g, d = build(name, **opts)
    assert (g.image_size, g.channels, g.latent_dim, g.num_classes) == (
        16, 3, 8, opts.get("num_classes", 0))
    y = labels_for(g, 5)
    x = run_g(g, torch.randn(5, 8), y)
    assert x.shape == (5, 3, 16, 16)
    assert x.min() >= -1 and x.max() <= 1
    logits, class_logits = split(d(x, y))
    assert logits.shape == (5,)
    if opts.get("aux_classifier"):
        assert class_logits.shape == (5, 10)
    else:
        assert class_logits is None
    if opts.get("num_classes") and opts.get("projection", True):
        # the projection term makes the logit depend on the label
        assert not torch.allclose(logits, split(d(x, (y + 1) % 10))[0])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", FAMILIES)
def test_bf16_channels_last_forward_backward(name, variant):
    g, d = build(name, **VARIANTS[variant])
    g.to(memory_format=torch.channels_last)
    d.to(memory_format=torch.channels_last)
    y = labels_for(g, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = run_g(g, torch.randn(4, 8), y)
        logits, class_logits = split(d(x, y))
        loss = logits.float().mean() + (class_logits.float().mean() if class_logits is not None else 0)
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.bfloat16
    assert logits.shape == (4,) and torch.isfinite(logits.float()).all()
    loss.backward()
    grads = [p.grad for p in g.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(gr).all() for gr in grads)
    assert all(p.grad is not None for p in d.parameters() if p.requires_grad
               and p.dim() == 4)  # every conv of D got a gradient


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", FAMILIES)
def test_save_load_roundtrip(tmp_path, name, variant):
    g, d = build(name, **VARIANTS[variant])
    run_g(g, torch.randn(8, 8), labels_for(g, 8))  # move BatchNorm stats / SN vectors off init
    g.save_pretrained(tmp_path / "g")
    d.save_pretrained(tmp_path / "d")
    loaded, same = pixelforge.load(tmp_path / "g"), type(g).from_pretrained(str(tmp_path / "g"))
    assert type(loaded.generator) is type(g) and loaded.generator.num_classes == g.num_classes
    a = generate_images(g, 8, seed=3)
    assert torch.equal(a, loaded.generate(8, seed=3))
    assert torch.equal(a, generate_images(same, 8, seed=3))
    d2 = pixelforge.load(tmp_path / "d")
    d.eval()
    x, y = torch.rand(3, 3, 16, 16) * 2 - 1, labels_for(g, 3)
    for u, v in zip(split(d(x, y)), split(d2(x, y)), strict=True):
        assert (u is None and v is None) or torch.equal(u, v)


@pytest.mark.parametrize("name", FAMILIES)
def test_labels_in_generate(name):
    g, _ = build(name, num_classes=10)
    seven = generate_images(g, 4, seed=1, labels=7, precision="fp32")
    assert seven.shape == (4, 3, 16, 16)
    per_image = generate_images(g, 4, seed=1, labels=[7, 7, 7, 7], precision="fp32")
    assert torch.equal(seven, per_image)
    with pytest.raises(UserError, match="out of range"):
        generate_images(g, 2, labels=10)
    uncond, _ = build(name)
    with pytest.raises(UserError, match="not class-conditional"):
        generate_images(uncond, 2, labels=7)
    with pytest.raises(ValueError, match="labels"):
        g(torch.randn(2, 8))  # a conditional G called without labels


def test_dcgan_class_embedding_changes_images():
    g, _ = build("dcgan", num_classes=10)
    seven, two = (generate_images(g, 2, seed=1, labels=k) for k in (7, 2))
    assert not torch.equal(seven, two)


@pytest.mark.parametrize("variant", ["uncond", "proj", "attn", "ac+attn+sn"])
def test_dcgan_folded_inference_matches_plain_eval(variant):
    g, _ = build("dcgan", 32, **VARIANTS[variant])
    y = labels_for(g, 6)
    for _ in range(3):  # non-trivial running statistics
        run_g(g, torch.randn(6, 8), y)
    for blk in g.modules():
        if isinstance(blk, SelfAttention):
            nn.init.constant_(blk.gamma, 0.7)  # make attention matter
    g.eval()
    z = torch.randn(6, 8)
    with torch.no_grad():
        folded = run_g(g, z, y)
    plain = run_g(g, z, y).detach()  # grad enabled: the unfolded path
    assert torch.allclose(folded, plain, atol=1e-5)


@pytest.mark.parametrize("name", FAMILIES)
def test_spectral_norm_unit_singular_values(name):
    g, d = build(name, num_classes=3, attention=8, spectral_norm=True, g_spectral_norm=True,
                 aux_classifier=True)
    y = torch.arange(4) % 3
    for _ in range(8):  # one power iteration per training forward
        d(run_g(g, torch.randn(4, 8), y), y)
    for net, expected in ((g, 4), (d, 6)):
        wrapped = spectral_norm_weights(net)
        assert len(wrapped) >= expected
        for _, m in wrapped:
            w = m.weight.detach()
            if isinstance(m, nn.ConvTranspose2d):
                w = w.transpose(0, 1)  # output channels first
            sigma = torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), 2)
            assert abs(float(sigma) - 1) < 0.05, (type(m).__name__, float(sigma))
    # G's class inputs are never normalised: CBN gains and the dcgan class embedding
    assert not any(isinstance(m, nn.Embedding) for _, m in spectral_norm_weights(g))


def test_dcgan_spectral_norm_drops_batchnorm():
    _, plain = build("dcgan")
    _, sn = build("dcgan", spectral_norm=True)
    assert any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in sn.modules())
    assert not spectral_norm_weights(plain)
    _, resnet_d = build("resnet-gan")  # spectral norm is the resnet-gan default
    convs = [m for m in resnet_d.modules() if isinstance(m, nn.Conv2d)]
    assert {id(m) for m in convs} <= {id(m) for _, m in spectral_norm_weights(resnet_d)}


def test_resnet_discriminator_reaches_4x4():
    _, d = build("resnet-gan", 32)
    seen = []
    d.blocks[-1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    d(torch.randn(2, 3, 32, 32))
    assert seen == [(2, 8, 4, 4)]
    assert d.blocks[0].optimized and not d.blocks[-1].down


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("size, base", [(28, 7), (48, 6), (20, 5)])
def test_native_sizes_build_from_a_4_to_7_px_base(name, size, base):
    """MNIST's 28 px (and any b * 2^k, b in 4..7) trains without resampling; attention may sit on
    the base map and D reaches it."""
    g, d = build(name, size, channels=1, num_classes=10, attention=base)
    y = torch.arange(3)
    x = g(torch.randn(3, 8), y)
    assert x.shape == (3, 1, size, size)
    logits, _ = split(d(x, y))
    assert logits.shape == (3,)
    logits.sum().backward()
    assert all(p.grad is not None for p in d.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("size", [8, 36, 100])
def test_sizes_without_a_4_to_7_px_base_are_user_errors(name, size):
    with pytest.raises(UserError, match=rf"model.image_size: {name} needs .*got {size}"):
        build(name, size)


def test_bad_options_are_user_errors():
    for name in FAMILIES:
        with pytest.raises(UserError, match="model.params.attention"):
            build(name, 16, attention=16)  # 16 px models have 4x4 and 8x8 feature maps
        with pytest.raises(UserError, match="model.params.attention"):
            build(name, 32, attention=6)
        with pytest.raises(UserError, match="model.params.aux_classifier"):
            build(name, aux_classifier=True)


def test_self_attention_identity_at_init_and_gamma_gets_gradient():
    att = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    y = att(x)
    assert torch.equal(y, x)
    y.pow(2).sum().backward()
    assert att.gamma.grad is not None and att.gamma.grad.abs() > 0
    with torch.no_grad():
        att.gamma.fill_(1.0)
    assert not torch.allclose(att(x), x)
    xl = x.detach().contiguous(memory_format=torch.channels_last)
    assert torch.allclose(att(xl), att(x.detach()), atol=1e-5)  # layout does not change maths


def test_conditional_batchnorm():
    torch.manual_seed(0)
    cbn, bn = ConditionalBatchNorm2d(4, 3), nn.BatchNorm2d(4)
    x = torch.randn(6, 4, 5, 5)
    assert torch.allclose(cbn(x, torch.arange(6) % 3), bn(x), atol=1e-6)  # fresh: plain BN
    nn.init.normal_(cbn.gain.weight, 1.0, 0.5)
    nn.init.normal_(cbn.bias.weight, 0.0, 0.5)
    x = torch.randn(1, 4, 5, 5).expand(4, -1, -1, -1)  # the same image four times
    out = cbn(x, torch.tensor([0, 0, 1, 2]))
    assert torch.equal(out[0], out[1])
    assert not torch.allclose(out[0], out[2]) and not torch.allclose(out[2], out[3])
    model = nn.Sequential(nn.Conv2d(4, 4, 3), cbn)
    apply_spectral_norm(model)
    assert [n for n, _ in spectral_norm_weights(model)] == ["0"]  # CBN gains are exempt


def test_projection_head_formula():
    torch.manual_seed(0)
    head = ProjectionHead(6, 4)
    h, y = torch.randn(3, 6), torch.tensor([0, 3, 1])
    expected = head.linear(h).squeeze(1) + (head.embed.weight[y] * h).sum(1)
    assert torch.allclose(head(h, y), expected)
    with pytest.raises(ValueError, match="labels"):
        head(h)
    ac = ProjectionHead(6, 4, projection=False, aux_classifier=True)
    logits, cls = ac(h)  # a pure AC-GAN head needs no labels
    assert logits.shape == (3,) and cls.shape == (3, 4)


@pytest.mark.parametrize("size", [28, 32])
@pytest.mark.parametrize("route", ["full", "wgrad"])
def test_dcgan_gemm_routes_match_stock_convolutions(monkeypatch, size, route):
    """The CPU GEMM routes (whole layer, or weight gradient only) give the stock layers' outputs
    and gradients, at a power-of-two size and at 28 px (7x7 base map, odd small sides)."""
    from pixelforge.nn import gemm
    from pixelforge.nn.perf import PERF

    g, d = build("dcgan", size, channels=1, spectral_norm=False)
    g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    z = torch.randn(6, 8)
    calls = []
    real_run_gemm = gemm._run_gemm

    def counted(fn, *args):
        calls.append(args[-1])  # `full`
        return real_run_gemm(fn, *args)

    monkeypatch.setattr(gemm, "_run_gemm", counted)

    def run(paths: bool):
        monkeypatch.setattr(PERF, "gemm_paths", paths)
        # fp32 takes the routes wherever they apply (every map size), so both are exercised
        monkeypatch.setitem(PERF.gemm_max_area, torch.float32, 10**6 if route == "full" else 0)
        monkeypatch.setitem(PERF.gemm_wgrad_max_area, torch.float32, 10**6)
        for net in (g, d):
            net.zero_grad(set_to_none=True)
        x = g(z)
        out = d(x)
        (out.square().sum() + x.sum()).backward()
        grads = [p.grad.clone() for p in (*g.parameters(), *d.parameters())]
        return x.detach(), out.detach(), grads

    x0, o0, g0 = run(False)
    assert not calls
    x1, o1, g1 = run(True)
    assert calls and set(calls) == {route == "full"}  # every stride-2 layer took the route
    assert torch.allclose(x0, x1, atol=1e-5) and torch.allclose(o0, o1, atol=1e-4)
    for a, b in zip(g0, g1, strict=True):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-4), float((a - b).abs().max())


def test_shared_weight_casts_cast_each_weight_once_per_block():
    """Inside shared_weight_casts() a weight is cast to bf16 once (the D step's real and fake
    passes share it); outside, and after the block, every call casts afresh."""
    from pixelforge.nn import gemm

    w = torch.randn(8, 4, 4, 4, requires_grad=True)
    assert gemm._cast(w, torch.bfloat16) is not gemm._cast(w, torch.bfloat16)
    with gemm.shared_weight_casts():
        a = gemm._cast(w, torch.bfloat16)
        with gemm.shared_weight_casts():  # nested blocks share the outer cache
            assert gemm._cast(w, torch.bfloat16) is a
        assert gemm._cast(w, torch.bfloat16) is a and a.dtype == torch.bfloat16
    assert gemm._cast(w, torch.bfloat16) is not a


def test_perf_settings_switch_and_reset():
    """PERF holds the GEMM switches (no module globals); reset() restores the measured defaults."""
    from pixelforge.nn.perf import PERF, PerfSettings

    defaults = PerfSettings()
    assert defaults.gemm_max_area[torch.bfloat16] == 16 and defaults.gemm_paths
    try:
        PERF.gemm_paths = False
        PERF.gemm_wgrad_max_area[torch.bfloat16] = 1
        assert PERF != defaults
    finally:
        PERF.reset()
    assert PERF == defaults
    assert PerfSettings().gemm_max_area is not PerfSettings().gemm_max_area  # no shared dicts
