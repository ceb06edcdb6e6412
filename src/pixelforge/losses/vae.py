"""VAE objective terms (Kingma & Welling 2014): closed-form Gaussian KL, per-image NLLs."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) in nats, summed over latent dims: [N, Z] -> [N]."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps, differentiable in mu and logvar (eps ~ N(0, I), same shape)."""
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, exp(logvar)) summed over the last dim: [..., Z] -> [...]."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(dim=-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dim: [..., Z] -> [...]."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(dim=-1)


# --- reconstruction NLLs: one signature nll(out, x, log_scale) -> [N] nats per image -------------

def bernoulli_nll(out: torch.Tensor, x: torch.Tensor, log_scale: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """-log Bernoulli(x01 | sigmoid(out)); `out` are logits, x in [-1, 1] maps to x01 in [0, 1].

    `log_scale` is ignored (Bernoulli has no scale); it is accepted so every NLL has one signature.
    """
    target = (x.float() + 1.0) * 0.5
    nll = F.binary_cross_entropy_with_logits(out.float(), target, reduction="none")
    return nll.flatten(1).sum(dim=1)  # [N, C, H, W] -> [N]


def gaussian_nll(out: torch.Tensor, x: torch.Tensor, log_scale: torch.Tensor | None = None
                 ) -> torch.Tensor:
    """-log N(x | out, exp(log_scale)^2) on the [-1, 1] scale; log_scale [C], scalar or None."""
    mean = out.float()
    if log_scale is None:
        log_scale = torch.zeros((), device=mean.device)
    ls = log_scale.float()
    if ls.dim() == 1:
        ls = ls.view(1, -1, 1, 1)  # [C] -> [1, C, 1, 1]
    nll = 0.5 * LOG_2PI + ls + 0.5 * ((x.float() - mean) * torch.exp(-ls)).pow(2)
    return nll.flatten(1).sum(dim=1)  # [N, C, H, W] -> [N]


ReconNLL = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]

RECON_NLLS: dict[str, ReconNLL] = {"bernoulli": bernoulli_nll, "gaussian": gaussian_nll}


def kl_weight(step: int, beta: float, warmup_steps: int) -> float:
    """KL annealing (Bowman et al. 2016): weight rises linearly from 0 to beta over warmup_steps."""
    if warmup_steps <= 0:
        return float(beta)
    return float(beta) * min(1.0, step / warmup_steps)
