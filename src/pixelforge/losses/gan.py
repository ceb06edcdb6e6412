"""Goodfellow et al. 2014's minimax GAN objective, on logits (BCE-with-logits form, stable in bf16)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pixelforge.registry import Registry


class GANLoss:
    """One signature for all GAN losses: `d_loss(real_logits, fake_logits)`, `g_loss(fake_logits)`."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


GAN_LOSSES: Registry[type[GANLoss]] = Registry("GAN loss")


def _bce_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # -log D(x) - log(1 - D(G(z))) with D = sigmoid: softplus(-real) + softplus(fake)
    return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()


@GAN_LOSSES.register("non-saturating")
class NonSaturating(GANLoss):
    """D: the minimax BCE; G maximises log D(G(z)) instead, which keeps gradients alive early on."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return _bce_d(real_logits, fake_logits)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits.float()).mean()  # -log sigmoid(fake)


@GAN_LOSSES.register("minimax")
class Minimax(GANLoss):
    """The original saturating game: G minimises log(1 - D(G(z)))."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return _bce_d(real_logits, fake_logits)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -F.softplus(fake_logits.float()).mean()  # log(1 - sigmoid(fake))
