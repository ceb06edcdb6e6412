"""Regularizers that keep D (the critic) smooth: WGAN-GP, R1 and WGAN weight clipping; and the
mode-seeking term that keeps G from ignoring its noise."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _input_grad_norm2(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Per-sample squared L2 norm of d(sum outputs)/d(inputs), with a graph for double backprop."""
    (grad,) = torch.autograd.grad(outputs.float().sum(), inputs, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1)  # [N]


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, generator: torch.Generator | None = None,
                     center: float = 1.0) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x f(x_hat)|| - center)^2] on random points x_hat
    between real and fake samples. `critic` maps images [N, C, H, W] to scores [N]."""
    eps = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real.device, real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    norm = _input_grad_norm2(critic(x_hat), x_hat).add(1e-12).sqrt()  # [N]
    return (norm - center).pow(2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||^2] on real images; the caller scales it by
    gamma / 2 (and by the lazy interval, Karras et al. 2020)."""
    x = real.detach().requires_grad_(True)
    return _input_grad_norm2(critic(x), x).mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """WGAN (Arjovsky et al. 2017): clamp every parameter of the critic to [-c, c] in place."""
    for p in module.parameters():
        p.clamp_(-c, c)


def paired_halves(labels: torch.Tensor | None) -> torch.Tensor | None:
    """Labels whose second half repeats the first ([a, b, c, d] -> [a, b, a, b]), so rows i and
    i + N/2 of a batch are one class drawn from two noise vectors (mode_seeking's pairs)."""
    if labels is None:
        return None
    h = labels.shape[0] // 2
    out = labels.clone()
    out[h:2 * h] = labels[:h]
    return out


def mode_seeking(fake: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN (Mao et al. 2019) for G: 1 / (mean |G(z1) - G(z2)| / mean |z1 - z2| + eps) over the
    pairs (i, i + N/2) of the batch (one class each, paired_halves). Small when different noise
    gives different images: it penalises a conditional G that makes one image per class."""
    h = fake.shape[0] // 2
    if h == 0:
        return fake.new_zeros(())
    d_img = (fake[:h].float() - fake[h:2 * h].float()).abs().flatten(1).mean(1)  # [h]
    d_z = (z[:h].float() - z[h:2 * h].float()).abs().flatten(1).mean(1)
    return 1.0 / ((d_img / d_z).mean() + eps)
