"""The Adversary on its own: the D loss over several fake batches, and a G loss through a frozen D
that leaves D without gradients."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.config import build_config
from pixelforge.core.precision import Precision
from pixelforge.training.adversary import Adversary


def _adversary(**ov) -> Adversary:
    torch.manual_seed(0)
    D = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1),
                      nn.Flatten(0))
    cfg = build_config({}, {"model.image_size": 8, "model.channels": 1, "augment.kind": "none",
                            **ov})
    return Adversary(D, cfg, device=torch.device("cpu"),
                     precision=Precision.resolve("fp32", "off", torch.device("cpu")), num_images=64)


def test_d_loss_is_the_mean_over_fake_batches_and_d_steps():
    adv = _adversary(**{"train.loss": "hinge"})
    g = torch.Generator().manual_seed(1)
    real, f1, f2 = (torch.rand(4, 1, 4, 4, generator=g) * 2 - 1 for _ in range(3))
    with torch.no_grad():
        want = 0.5 * (adv.loss.d_loss(adv.D(real), adv.D(f1)) + adv.loss.d_loss(adv.D(real), adv.D(f2)))
    before = [p.detach().clone() for p in adv.D.parameters()]
    logs = adv.d_step(real, (f1, f2), step=0)
    assert torch.allclose(logs["loss_d"], want)
    assert {"d_acc_real", "d_acc_fake"} <= set(logs)
    assert any(not torch.equal(a, b) for a, b in zip(before, adv.D.parameters(), strict=True))


def test_g_loss_through_a_frozen_d_reaches_g_only():
    adv = _adversary()
    fake = (torch.rand(4, 1, 4, 4) * 2 - 1).requires_grad_(True)
    with adv.frozen():
        adv.g_loss(fake, step=0).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in adv.D.parameters())
    assert all(p.requires_grad for p in adv.D.parameters())  # unfrozen afterwards
