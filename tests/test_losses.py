"""GAN losses against values computed by hand from the minimax objective."""

import math

import pytest
import torch

from pixelforge.losses import GAN_LOSSES


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


@pytest.mark.parametrize("name", ["non-saturating", "minimax"])
def test_d_loss_hand_computed(name):
    real, fake = [2.0, -1.0], [0.5, -3.0]
    expected = (-sum(_log_sigmoid(r) for r in real) / 2
                - sum(math.log(1 - 1 / (1 + math.exp(-f))) for f in fake) / 2)
    loss = GAN_LOSSES.get(name)().d_loss(torch.tensor(real), torch.tensor(fake))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_g_losses_hand_computed():
    fake = [0.5, -3.0, 4.0]
    ns = -sum(_log_sigmoid(f) for f in fake) / 3
    mm = sum(math.log(1 - 1 / (1 + math.exp(-f))) for f in fake) / 3
    t = torch.tensor(fake)
    assert GAN_LOSSES.get("non-saturating")().g_loss(t).item() == pytest.approx(ns, rel=1e-6)
    assert GAN_LOSSES.get("minimax")().g_loss(t).item() == pytest.approx(mm, rel=1e-6)


def test_saturation_behaviour():
    """When D confidently rejects fakes, minimax G gradients vanish while non-saturating ones don't."""
    grads = {}
    for name in ("non-saturating", "minimax"):
        x = torch.tensor([-10.0], requires_grad=True)
        GAN_LOSSES.get(name)().g_loss(x).backward()
        grads[name] = abs(x.grad.item())
    assert grads["minimax"] < 1e-3 < grads["non-saturating"]


def test_stable_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for name in GAN_LOSSES:
        loss = GAN_LOSSES.get(name)()
        assert torch.isfinite(loss.d_loss(big, -big)) and torch.isfinite(loss.g_loss(big))
