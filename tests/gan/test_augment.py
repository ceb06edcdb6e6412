"""DiffAugment ops, reproducibility, differentiability; the ADA controller; build_augment."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from pixelforge.augment import AdaController, DiffAugment, build_augment
from pixelforge.config import AugmentConfig
from pixelforge.errors import UserError

OPS = ("color", "translation", "cutout")
ALL = (("color", "translation", "cutout"),)


def _images(n: int = 8, c: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, size, size, generator=g) * 2 - 1  # [N, C, H, W] in [-1, 1]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("policy", [(op,) for op in OPS] + list(ALL))
@pytest.mark.parametrize("channels", [1, 3])
def test_ops_keep_shape_dtype_and_change_the_images(policy, channels):
    x = _images(c=channels)
    out = DiffAugment(policy)(x, _gen(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()
    assert not torch.equal(out, x)


@pytest.mark.parametrize("policy", [(op,) for op in OPS] + list(ALL))
def test_gradients_flow_to_the_input(policy):
    x = _images().requires_grad_(True)
    out = DiffAugment(policy)(x, _gen(2))
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_same_seed_same_output_other_seed_differs():
    x, aug = _images(), DiffAugment(p=0.5)
    a, b, c = aug(x, _gen(7)), aug(x, _gen(7)), aug(x, _gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_global_rng_is_used_without_a_generator():
    x, aug = _images(), DiffAugment()
    torch.manual_seed(3)
    a = aug(x)
    torch.manual_seed(3)
    assert torch.equal(a, aug(x))


def test_p_zero_is_identity_and_p_is_validated():
    x = _images()
    assert torch.equal(DiffAugment(p=0.0)(x, _gen(0)), x)
    with pytest.raises(UserError, match="augment.p"):
        DiffAugment(p=1.5)


def test_p_below_one_leaves_some_samples_untouched():
    x = _images(n=64)
    out = DiffAugment(("translation", "cutout"), p=0.3)(x, _gen(4))
    same = (out == x).flatten(1).all(dim=1)  # [N] sample untouched by both ops
    # P(untouched) = 0.7^2 (minus zero shifts) = 0.49: 64 samples give some of each
    assert 10 < int(same.sum()) < 54


def test_unknown_op_names_it_and_lists_the_allowed():
    with pytest.raises(UserError, match=r"'blur'.*color, translation, cutout"):
        DiffAugment(("color", "blur"))


def test_translation_moves_a_pixel_by_at_most_an_eighth():
    size, n = 32, 64
    x = torch.full((n, 1, size, size), -1.0)
    x[:, :, 16, 12] = 1.0  # one bright pixel, far from the border
    out = DiffAugment(("translation",))(x, _gen(5))
    flat = out.flatten(1).argmax(dim=1)
    rows, cols = flat // size, flat % size
    assert (out.flatten(1).max(dim=1).values == 1.0).all()  # still there, exactly once
    assert ((out == 1.0).flatten(1).sum(dim=1) == 1).all()
    dy, dx = rows - 16, cols - 12
    assert dy.abs().max() <= size // 8 and dx.abs().max() <= size // 8
    assert (dy != 0).any() and (dx != 0).any()
    # vacated pixels are zero padded: the shifted images have a band of exact zeros
    shifted = (dy != 0) | (dx != 0)
    assert ((out[shifted] == 0).flatten(1).sum(dim=1) > 0).all()


def test_reflect_pad_translation_mirrors_the_edge_instead_of_adding_grey():
    """pad="reflect": the same shifts, but shifted-in pixels mirror the image (no 0 band), so a
    black-background digit stays on black; the op stays differentiable."""
    size, n = 16, 32
    x = torch.full((n, 1, size, size), -1.0)
    x[:, :, 8, 6] = 1.0
    zero = DiffAugment(("translation",))(x, _gen(5))
    out = DiffAugment(("translation",), pad="reflect")(x, _gen(5))
    assert torch.equal(out.flatten(1).argmax(1), zero.flatten(1).argmax(1))  # same shifts
    assert set(out.unique().tolist()) == {-1.0, 1.0}  # no grey pixels shifted in
    ramp = torch.arange(size, dtype=torch.float32).expand(1, 1, size, size).contiguous()
    moved = DiffAugment(("translation",), pad="reflect")(ramp.repeat(n, 1, 1, 1), _gen(1))
    def mirrored_shift(d: int) -> torch.Tensor:  # the ramp shifted by d, mirrored at the edges
        i = (torch.arange(size) - d).abs()
        return torch.where(i > size - 1, 2 * (size - 1) - i, i).float()

    shifts = [[d for d in range(-2, 3) if torch.equal(row, mirrored_shift(d))]
              for row in moved[:, 0, 0]]
    assert all(len(found) == 1 for found in shifts)  # every row is one mirrored shift
    assert len({found[0] for found in shifts}) > 1  # and the shifts differ
    y = _images().requires_grad_()
    DiffAugment(("translation",), pad="reflect")(y, _gen(0)).sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    with pytest.raises(UserError, match="augment.pad"):
        DiffAugment(("translation",), pad="wrap")


def test_cutout_zeros_one_square_of_half_the_side():
    size, n = 16, 64
    out = DiffAugment(("cutout",))(torch.ones(n, 1, size, size), _gen(6))
    zero = out[:, 0] == 0  # [N, H, W]
    full = 0
    for mask in zero:
        rows = mask.any(dim=1).nonzero().flatten()
        cols = mask.any(dim=0).nonzero().flatten()
        h, w = len(rows), len(cols)
        assert int(mask.sum()) == h * w  # one axis-aligned rectangle
        assert rows[-1] - rows[0] + 1 == h and cols[-1] - cols[0] + 1 == w  # contiguous
        assert size // 4 <= h <= size // 2 and size // 4 <= w <= size // 2  # clipped at borders
        full += h * w == (size // 2) ** 2
    assert full > n // 4  # most squares lie fully inside
    assert torch.equal(out[~zero.unsqueeze(1)], torch.ones(int((~zero).sum())))


def test_color_on_grayscale_stays_in_a_sane_range():
    x = _images(n=256, c=1)
    out = DiffAugment(("color",))(x, _gen(9))
    assert out.min() >= -3 and out.max() <= 3  # brightness +-0.5, contrast x[0.5, 1.5]
    assert (out - x).abs().max() > 0.1
    # a constant image keeps zero contrast: only the brightness moves it
    flat = DiffAugment(("color",))(torch.full((4, 1, 8, 8), 0.2), _gen(9))
    assert torch.allclose(flat, flat[:, :, :1, :1].expand_as(flat))


def test_saturation_is_a_noop_on_grayscale_and_not_on_colour():
    from pixelforge.augment.diffaugment import _Random, _saturation

    fires = torch.ones(8, dtype=torch.bool)
    gray, rgb = _images(c=1), _images(c=3)
    assert torch.equal(_saturation(gray, fires, _Random(_gen(0), gray.device)), gray)
    assert not torch.equal(_saturation(rgb, fires, _Random(_gen(0), rgb.device)), rgb)


def test_bf16_autocast_and_channels_last():
    x = _images().contiguous(memory_format=torch.channels_last)
    aug = DiffAugment(p=0.7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out16 = aug(x.to(torch.bfloat16), _gen(1))
        out32 = aug(x, _gen(1))
    assert out16.dtype == torch.bfloat16 and out32.dtype == torch.float32
    assert out16.shape == x.shape
    for out in (out16, out32):
        assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(out32, aug(x.contiguous(), _gen(1)), atol=1e-6)  # same up to rounding
    assert (out16.float() - out32).abs().max() < 0.1


def _ada(**kw) -> AdaController:
    return AdaController(**{"target": 0.6, "interval": 2, "speed_images": 100, **kw})


def test_ada_raises_p_when_d_is_sure_of_the_reals():
    ada = _ada()
    assert ada.observe(torch.ones(10)) == 0.0  # mid-interval: no change yet
    p = ada.observe(torch.full((10,), 3.0))  # r_t = 1 > 0.6 after 20 images
    assert p == pytest.approx(20 / 100) and ada.p == p and ada.last_rt == 1.0
    for _ in range(20):
        ada.observe(torch.ones(10))
    assert ada.p == 1.0  # clamped at p_max


def test_ada_lowers_p_and_clamps_at_zero():
    ada = _ada(p=0.5)
    ada.observe(-torch.ones(25))
    ada.observe(torch.tensor([-1.0] * 20 + [1.0] * 5))  # r_t = (-25 - 15) / 50 = -0.8
    assert ada.p == pytest.approx(0.5 - 50 / 100) and ada.last_rt == pytest.approx(-0.8)
    ada.observe(-torch.ones(30))
    ada.observe(-torch.ones(30))
    assert ada.p == 0.0
    capped = _ada(p=0.1, p_max=0.3)
    for _ in range(10):
        capped.observe(torch.ones(50))
    assert capped.p == 0.3


def test_ada_accepts_ac_gan_tuples_and_bf16():
    ada = _ada()
    ada.observe((torch.ones(4, dtype=torch.bfloat16), torch.zeros(4, 10)))
    ada.observe(torch.ones(4))
    assert ada.p == pytest.approx(8 / 100)


def test_ada_state_round_trip_resumes_exactly():
    a = _ada()
    a.observe(torch.ones(6))
    a.observe(torch.ones(6))
    a.observe(torch.tensor([1.0, -1.0, 1.0]))  # mid-interval
    state = json.loads(json.dumps(a.state_dict()))
    b = _ada()
    b.load_state_dict(state)
    assert b.state_dict() == a.state_dict()
    for ctrl in (a, b):
        ctrl.observe(torch.ones(3))
    assert a.p == b.p == pytest.approx(12 / 100 + 6 / 100)
    assert a.last_rt == b.last_rt == pytest.approx(4 / 6)  # (1 - 1 + 1 + 3) / 6
    with pytest.raises(UserError, match="p=2"):
        b.load_state_dict({**state, "p": 2.0})


def test_build_augment_auto_follows_the_measurements():
    """auto = translation-only DiffAugment, only where docs/benchmarks.md measured it paying:
    fewer than small_data colour images, a run of >= auto_min_steps steps (and >= 20 minutes when
    a time budget caps it). Digits, short runs and big data sets stay un-augmented."""
    msgs: list[str] = []
    aug, ada, reason = build_augment(AugmentConfig(), 1000, msgs.append, channels=3, steps=10_000)
    assert isinstance(aug, DiffAugment) and aug.policy == ("translation",) and aug.p == 1.0
    assert ada is None and msgs == [reason]
    assert reason == ("augment: DiffAugment(translation) on (augment.kind=auto): 1000 colour "
                      "images < augment.small_data=5000, a run of 10000 steps")
    off = {  # what turns it off, and the reason it gives
        "grayscale": (dict(channels=1, steps=10_000), "grayscale data"),
        "short run": (dict(channels=3, steps=2000), "2000 steps < augment.auto_min_steps=5000"),
        "short budget": (dict(channels=3, steps=10_000, time_budget=10),
                         "train.time_budget=10 min < augment.auto_min_minutes=20"),
        "unknown": (dict(channels=3), "a run of None steps"),
    }
    for case, (kw, why) in off.items():
        aug, ada, reason = build_augment(AugmentConfig(), 1000, None, **kw)
        assert aug is None and ada is None, case
        assert reason.startswith("augment: off (augment.kind=auto)") and why in reason, case
    aug, _, reason = build_augment(AugmentConfig(), 1000, None, channels=3, steps=10_000,
                                   time_budget=30)
    assert aug is not None
    aug, ada, reason = build_augment(AugmentConfig(small_data=500), 1000, None, channels=3,
                                     steps=10_000)
    assert aug is None and ada is None
    assert reason == "augment: off (augment.kind=auto): 1000 images >= augment.small_data=500"


def test_build_augment_explicit_kinds(caplog):
    aug, ada, reason = build_augment(AugmentConfig(kind="none"), 10, None)
    assert aug is None and ada is None and "kind=none" in reason
    aug, _, reason = build_augment(AugmentConfig(kind="diffaugment", policy=["cutout"]), 10**6)
    assert aug is not None and aug.policy == ("cutout",) and "DiffAugment(cutout)" in reason
    cfg = AugmentConfig(kind="ada", p=0.2, ada_target=0.5, ada_interval=3, ada_speed=1000)
    log = logging.getLogger("pixelforge.test_augment")
    with caplog.at_level(logging.INFO, logger=log.name):
        aug, ada, reason = build_augment(cfg, 10**6, log)
    assert isinstance(ada, AdaController) and aug is not None
    assert aug.p == ada.p == 0.2 and ada.target == 0.5 and ada.interval == 3
    assert ada.speed_images == 1000
    assert reason.startswith("augment: ADA(color, translation, cutout) on") and reason in caplog.text
