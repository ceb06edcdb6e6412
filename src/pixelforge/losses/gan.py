"""Adversarial losses on raw D outputs (logits / critic scores), one signature for all of them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pixelforge.errors import UserError
from pixelforge.registry import Registry


class GANLoss:
    """`d_loss(real_logits, fake_logits)` and `g_loss(fake_logits)`, each a scalar to minimise.

    `label_smoothing` s (one-sided, Salimans et al. 2016) sets D's target for real images to 1 - s;
    only losses with a probabilistic target support it.
    """

    supports_smoothing = False
    bounded_logits = True  # False: a critic score (Wasserstein), not a probability logit
    decision_threshold: float | None = 0.0  # D output above it = "real"; None: no such threshold

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if label_smoothing and not self.supports_smoothing:
            raise UserError(f"gan.label_smoothing: the {type(self).__name__} loss has no real-image "
                            "target to smooth; use non-saturating, minimax or lsgan")
        self.real_target = 1.0 - label_smoothing

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


GAN_LOSSES: Registry[type[GANLoss]] = Registry("GAN loss")


def _bce_d(real_logits: torch.Tensor, fake_logits: torch.Tensor, target: float) -> torch.Tensor:
    # -t log D(x) - (1 - t) log(1 - D(x)) - log(1 - D(G(z))), D = sigmoid; t = 1: softplus form
    real = real_logits.float()
    real_term = F.softplus(-real) if target == 1.0 else \
        F.binary_cross_entropy_with_logits(real, torch.full_like(real, target), reduction="none")
    return real_term.mean() + F.softplus(fake_logits.float()).mean()


@GAN_LOSSES.register("non-saturating")
class NonSaturating(GANLoss):
    """D: the minimax BCE; G maximises log D(G(z)) instead, which keeps gradients alive early on."""

    supports_smoothing = True

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return _bce_d(real_logits, fake_logits, self.real_target)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits.float()).mean()  # -log sigmoid(fake)


@GAN_LOSSES.register("minimax")
class Minimax(GANLoss):
    """The original saturating game (Goodfellow et al. 2014): G minimises log(1 - D(G(z)))."""

    supports_smoothing = True

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return _bce_d(real_logits, fake_logits, self.real_target)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -F.softplus(fake_logits.float()).mean()  # log(1 - sigmoid(fake))


@GAN_LOSSES.register("lsgan")
class LeastSquares(GANLoss):
    """LSGAN (Mao et al. 2017), a-b-c = 0-1-1: squared distance of D's output to the targets."""

    supports_smoothing = True
    decision_threshold = 0.5

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real_logits.float() - self.real_target).pow(2).mean()
                      + fake_logits.float().pow(2).mean())

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake_logits.float() - 1.0).pow(2).mean()


@GAN_LOSSES.register("hinge")
class Hinge(GANLoss):
    """Hinge loss (Lim & Ye 2017; SNGAN, SAGAN, BigGAN): D margins at +-1, G raises D's score."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_logits.float()).mean() + F.relu(1.0 + fake_logits.float()).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.float().mean()


@GAN_LOSSES.register("wasserstein")
class Wasserstein(GANLoss):
    """WGAN (Arjovsky et al. 2017): the critic estimates E[f(real)] - E[f(fake)]; needs a Lipschitz
    constraint on f (gan.clip_weights, gan.gp_weight or spectral norm)."""

    bounded_logits = False
    decision_threshold = None

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.float().mean() - real_logits.float().mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.float().mean()
