"""Adversarial losses; every one has the same two methods so the trainer can swap them by name."""

from pixelforge.losses.gan import GAN_LOSSES, GANLoss, Minimax, NonSaturating

__all__ = ["GAN_LOSSES", "GANLoss", "Minimax", "NonSaturating"]
