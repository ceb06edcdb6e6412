"""Adversarial losses and regularizers; every loss has the same two methods, swapped by name."""

from pixelforge.losses.gan import (
    GAN_LOSSES,
    GANLoss,
    Hinge,
    LeastSquares,
    Minimax,
    NonSaturating,
    Wasserstein,
)
from pixelforge.losses.regularizers import clip_weights_, gradient_penalty, r1_penalty

__all__ = ["GAN_LOSSES", "GANLoss", "Hinge", "LeastSquares", "Minimax", "NonSaturating",
           "Wasserstein", "clip_weights_", "gradient_penalty", "r1_penalty"]
