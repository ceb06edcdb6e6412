"""KL and reconstruction NLLs against closed forms and torch.distributions; reparameterisation."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from pixelforge.losses.vae import (
    RECON_NLLS,
    bernoulli_nll,
    gaussian_kl,
    gaussian_nll,
    kl_weight,
    reparameterize,
)


def test_kl_known_values():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    var = torch.tensor([[1.0, 1.0], [4.0, 0.25]])
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2 per dim
    second = 0.5 * (1 + 4 - 1 - math.log(4)) + 0.5 * (4 + 0.25 - 1 - math.log(0.25))
    expected = torch.tensor([0.0, second])
    torch.testing.assert_close(gaussian_kl(mu, var.log()), expected)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros(8), torch.ones(8)), 1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), kl_divergence(q, p))


def test_recon_nlls_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    out = torch.randn(4, 1, 5, 5, generator=g)
    x = torch.bernoulli(torch.full((4, 1, 5, 5), 0.5), generator=g) * 2 - 1  # {-1, 1}
    ref = -Independent(Bernoulli(logits=out), 3).log_prob((x + 1) / 2)
    torch.testing.assert_close(bernoulli_nll(out, x), ref)
    ls = torch.tensor([-0.7])
    xg = torch.rand(4, 1, 5, 5, generator=g) * 2 - 1
    ref = -Independent(Normal(out, ls.exp()), 3).log_prob(xg)
    torch.testing.assert_close(gaussian_nll(out, xg, ls), ref)
    assert set(RECON_NLLS) == {"bernoulli", "gaussian"}
    for nll in RECON_NLLS.values():  # one signature
        assert nll(out, x, ls).shape == (4,)


def test_reparameterization_gradients_flow_to_mu_and_logvar():
    mu = torch.zeros(3, 4, requires_grad=True)
    logvar = torch.zeros(3, 4, requires_grad=True)
    eps = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    z = reparameterize(mu, logvar, eps)
    (z ** 2).sum().backward()
    torch.testing.assert_close(mu.grad, 2 * eps)  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 2 * eps * eps * 0.5)  # dz/dlogvar = eps * sigma / 2
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


@pytest.mark.parametrize("step,expected", [(0, 0.0), (5, 2.0), (10, 4.0), (50, 4.0)])
def test_kl_warmup_is_linear_then_flat(step, expected):
    assert kl_weight(step, 4.0, 10) == pytest.approx(expected)
    assert kl_weight(step, 4.0, 0) == 4.0
