"""The pool of past fakes (p = 0.5 once full, exact resume) and the reconstruction losses."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from pixelforge.checkpoint import load_state, save_state
from pixelforge.losses.translation import cycle_loss, identity_loss, l1_to_target
from pixelforge.training.image_pool import ImagePool


def _fakes(start: int, n: int) -> torch.Tensor:
    """n distinct 1-pixel 'images' whose value is their serial number."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1)


def test_pool_passes_everything_through_until_full():
    pool = ImagePool(10, seed=0)
    out = torch.cat([pool.query(_fakes(i * 4, 4)) for i in range(2)])
    assert torch.equal(out, _fakes(0, 8)) and len(pool) == 8


def test_pool_returns_a_past_fake_with_probability_one_half_once_full():
    pool = ImagePool(50, seed=1)
    pool.query(_fakes(0, 50))  # fill it
    n, swapped, seen = 4000, 0, set(range(50))
    for step in range(n // 4):
        batch = _fakes(1000 + 4 * step, 4)
        out = pool.query(batch)
        for new, got in zip(batch.flatten().tolist(), out.flatten().tolist(), strict=True):
            if got != new:
                assert got in seen  # a stored fake, never an invented one
                swapped += 1
            seen.add(new)
        assert len(pool) == 50
    p = swapped / n
    assert abs(p - 0.5) < 4 * math.sqrt(0.25 / n)  # 4 sigma of a binomial(4000, 0.5)
    # and the swapped-out images are spread over the pool, not one slot
    assert len({int(v) for v in torch.stack(pool.images).flatten()} & set(range(50))) < 5


def test_pool_state_round_trip_is_exact_through_a_checkpoint(tmp_path):
    a = ImagePool(6, seed=7)
    for i in range(3):
        a.query(torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(i)))
    save_state(tmp_path / "s.safetensors", {"pool": a.state_dict()})
    b = ImagePool(6, seed=999)  # a different seed: the saved RNG state must win
    b.load_state_dict(load_state(tmp_path / "s.safetensors")["pool"])
    for i in range(5):
        x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(100 + i))
        assert torch.equal(a.query(x), b.query(x))
    fresh = ImagePool(6, seed=7)
    fresh.load_state_dict(ImagePool(6, seed=7).state_dict())  # empty pool round trip
    assert len(fresh) == 0
    with pytest.raises(ValueError, match="size 6 != configured 5"):
        ImagePool(5).load_state_dict(a.state_dict())


def test_pool_of_size_zero_is_off():
    x = torch.randn(3, 3, 4, 4)
    assert torch.equal(ImagePool(0).query(x), x)


class _Shift(nn.Module):
    def __init__(self, by: float) -> None:
        super().__init__()
        self.by, self.in_channels, self.out_channels = by, 3, 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.by


def test_identity_loss_is_zero_for_identity_generators():
    a, b = torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(2, 3, 8, 8) * 2 - 1
    assert float(identity_loss(nn.Identity(), nn.Identity(), a, b)) == 0.0
    assert float(identity_loss(_Shift(0.0), _Shift(0.0), a, b)) == 0.0
    assert float(identity_loss(_Shift(0.25), _Shift(-0.5), a, b)) == pytest.approx(0.75)


def test_identity_loss_refuses_channel_changing_generators():
    gray_to_rgb = _Shift(0.0)
    gray_to_rgb.in_channels = 1
    with pytest.raises(ValueError, match="identity weight to 0"):
        identity_loss(gray_to_rgb, _Shift(0.0), torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))


def test_cycle_and_l1_losses_are_mean_absolute_errors():
    x = torch.zeros(1, 3, 4, 4)
    assert float(cycle_loss(x, x)) == 0.0
    assert float(cycle_loss(x, x + 0.5)) == pytest.approx(0.5)
    assert float(l1_to_target(x - 0.25, x)) == pytest.approx(0.25)
