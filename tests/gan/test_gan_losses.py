"""Every GAN loss against values computed by hand; penalties against autograd on toy critics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from pixelforge.errors import UserError
from pixelforge.losses import GAN_LOSSES, clip_weights_, gradient_penalty, r1_penalty

REAL, FAKE = [2.0, -1.0, 0.5], [0.5, -3.0, 1.5]


def _mean(xs):
    return sum(xs) / len(xs)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


HAND = {  # name -> (d_loss, g_loss) on REAL / FAKE, straight from each paper's formula
    "non-saturating": (_mean([_softplus(-r) for r in REAL]) + _mean([_softplus(f) for f in FAKE]),
                       _mean([_softplus(-f) for f in FAKE])),
    "minimax": (_mean([_softplus(-r) for r in REAL]) + _mean([_softplus(f) for f in FAKE]),
                -_mean([_softplus(f) for f in FAKE])),
    "lsgan": (0.5 * (_mean([(r - 1) ** 2 for r in REAL]) + _mean([f ** 2 for f in FAKE])),
              0.5 * _mean([(f - 1) ** 2 for f in FAKE])),
    "hinge": (_mean([max(0.0, 1 - r) for r in REAL]) + _mean([max(0.0, 1 + f) for f in FAKE]),
              -_mean(FAKE)),
    "wasserstein": (_mean(FAKE) - _mean(REAL), -_mean(FAKE)),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_losses_match_hand_computed_values(name):
    loss = GAN_LOSSES.get(name)()
    d, g = HAND[name]
    assert loss.d_loss(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss(torch.tensor(FAKE)).item() == pytest.approx(g, rel=1e-6)


def test_every_registered_loss_is_hand_checked():
    assert set(GAN_LOSSES.names()) == set(HAND)


def test_one_sided_label_smoothing_changes_only_the_real_target():
    s = 0.1
    loss = GAN_LOSSES.get("non-saturating")(label_smoothing=s)
    real_term = _mean([-(1 - s) * math.log(1 / (1 + math.exp(-r))) - s * math.log(1 - 1 / (1 + math.exp(-r)))
                       for r in REAL])
    expected = real_term + _mean([_softplus(f) for f in FAKE])
    assert loss.d_loss(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(expected, rel=1e-6)
    ls = GAN_LOSSES.get("lsgan")(label_smoothing=s)
    expected = 0.5 * (_mean([(r - 0.9) ** 2 for r in REAL]) + _mean([f ** 2 for f in FAKE]))
    assert ls.d_loss(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["hinge", "wasserstein"])
def test_label_smoothing_is_refused_where_it_means_nothing(name):
    with pytest.raises(UserError, match="label_smoothing"):
        GAN_LOSSES.get(name)(label_smoothing=0.1)


def test_bf16_logits_give_fp32_losses():
    for name in HAND:
        out = GAN_LOSSES.get(name)().d_loss(torch.tensor(REAL).bfloat16(), torch.tensor(FAKE).bfloat16())
        assert out.dtype == torch.float32 and torch.isfinite(out)


def _toy_critic():
    """f(x) = sum(w * x^2) per sample: grad_x f = 2 w x, known in closed form."""
    w = torch.linspace(-1, 1, 12).view(1, 3, 2, 2)
    return (lambda x: (w * x.pow(2)).flatten(1).sum(1)), w


def test_gradient_penalty_matches_closed_form():
    torch.manual_seed(0)
    critic, w = _toy_critic()
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    gen = torch.Generator().manual_seed(7)
    gp = gradient_penalty(critic, real, fake, generator=gen)
    eps = torch.rand(5, 1, 1, 1, generator=torch.Generator().manual_seed(7))
    x_hat = eps * real + (1 - eps) * fake
    norms = (2 * w * x_hat).flatten(1).norm(dim=1)
    assert gp.item() == pytest.approx(((norms - 1) ** 2).mean().item(), rel=1e-5)


def test_gradient_penalty_has_gradients_for_the_critic_weights():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    gp = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    gp.backward()
    weights = [critic[1].weight, critic[1].bias, critic[3].weight]  # the last bias has no say
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
               for p in weights)


def test_r1_matches_autograd():
    critic, w = _toy_critic()
    real = torch.randn(6, 3, 2, 2)
    expected = (2 * w * real).flatten(1).pow(2).sum(1).mean()
    assert r1_penalty(critic, real).item() == pytest.approx(expected.item(), rel=1e-5)
    lin = nn.Linear(12, 1)  # linear critic: ||grad||^2 = ||W||^2 for every sample
    r1 = r1_penalty(lambda x: lin(x.flatten(1)).squeeze(1), real)
    assert r1.item() == pytest.approx(lin.weight.pow(2).sum().item(), rel=1e-5)


def test_weight_clipping_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(100)
    clip_weights_(net, 0.01)
    assert max(p.abs().max().item() for p in net.parameters()) <= 0.01


def test_mode_seeking_pairs_and_penalises_a_generator_that_ignores_its_noise():
    """MSGAN's term: pairs (i, i + N/2) share a class; one image per class costs ~1/eps, varied
    images cost ~ mean|dz| / mean|dx|; its gradient pushes the pair's images apart."""
    from pixelforge.losses.regularizers import mode_seeking, paired_halves

    assert paired_halves(torch.tensor([3, 1, 4, 1, 5])).tolist() == [3, 1, 3, 1, 5]
    assert paired_halves(None) is None
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(8, 4, generator=gen)
    same = torch.rand(4, 1, 6, 6, generator=gen).repeat(2, 1, 1, 1)
    varied = torch.rand(8, 1, 6, 6, generator=gen)
    assert float(mode_seeking(same, z)) == pytest.approx(1e5)
    d_img = (varied[:4] - varied[4:]).abs().flatten(1).mean(1)
    d_z = (z[:4] - z[4:]).abs().mean(1)
    assert float(mode_seeking(varied, z)) == pytest.approx(1 / (float((d_img / d_z).mean()) + 1e-5))
    x = varied.clone().requires_grad_(True)
    mode_seeking(x, z).backward()
    stepped = (x - 0.01 * x.grad).detach()
    assert (stepped[:4] - stepped[4:]).abs().mean() > (varied[:4] - varied[4:]).abs().mean()
