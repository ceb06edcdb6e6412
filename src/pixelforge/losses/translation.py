"""Reconstruction terms of image translation: pix2pix's L1 to the target (Isola et al. 2017) and
CycleGAN's cycle-consistency and identity losses (Zhu et al. 2017). All are mean absolute errors
on images in [-1, 1]; the weights (100; 10 and 0.5 x 10) are applied by the task."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def l1_to_target(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """pix2pix: |G(x) - y|, mean over pixels (weighted by lambda_l1 = 100 in the paper)."""
    return F.l1_loss(fake, target)


def cycle_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """|F(G(x)) - x| for one domain (the paper sums both domains, each times lambda = 10)."""
    return F.l1_loss(reconstructed, real)


def identity_loss(g_ab: nn.Module, g_ba: nn.Module, real_a: torch.Tensor,
                  real_b: torch.Tensor) -> torch.Tensor:
    """|G_ab(b) - b| + |G_ba(a) - a|: a generator fed an image already of its output domain should
    leave it alone (keeps colours, Zhu et al. Sec. 5.2). Needs in_channels == out_channels."""
    for name, g in (("generator_ab", g_ab), ("generator_ba", g_ba)):
        cin, cout = getattr(g, "in_channels", None), getattr(g, "out_channels", None)
        if cin is not None and cin != cout:
            raise ValueError(f"identity loss needs {name} to map {cout} channels to {cout}, it "
                             f"maps {cin} -> {cout}; set the identity weight to 0")
    return F.l1_loss(g_ab(real_b), real_b) + F.l1_loss(g_ba(real_a), real_a)
