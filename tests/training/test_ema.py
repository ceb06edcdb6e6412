"""The EMA helper: StyleGAN2's ramp-up (issue 12 item 12) and the configured decay after it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from pixelforge.config import build_config
from pixelforge.core.precision import Precision
from pixelforge.models import MODELS
from pixelforge.pipelines.sampling import generate_images
from pixelforge.training.ema import EMA, ema_decay
from pixelforge.training.gan import GANTask


def test_decay_ramps_up_then_matches_the_configured_one():
    # half-life of 0.999 at 64 images per update: 64 ln 0.5 / ln 0.999 = 44,339 images
    half_life = 64 * math.log(0.5) / math.log(0.999)
    assert half_life == pytest.approx(44_339, abs=1)
    # early: the half-life is capped at 5% of the images seen -> 640 seen: 32 images, decay 0.25
    assert ema_decay(0.999, 640, 64, 0.05) == pytest.approx(0.25)
    # once 5% of the images seen exceeds the half-life, the configured decay is used exactly
    assert ema_decay(0.999, int(half_life / 0.05) + 64, 64, 0.05) == 0.999
    assert ema_decay(0.999, 10**9, 64, 0.05) == 0.999
    decays = [ema_decay(0.999, s * 64, 64, 0.05) for s in range(1, 20_000, 500)]
    assert decays == sorted(decays)  # monotone ramp
    assert ema_decay(0.999, 64, 64, None) == 0.999  # no ramp-up: the fixed decay from step 0


def test_update_is_averaged_models_ema_and_state_layout_matches():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    ours = EMA(net, decay=0.9)
    ref = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    for _ in range(3):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net(torch.randn(8, 4))  # moves the BatchNorm buffers
        ours.update(net, images_seen=8, batch=8)
        ref.update_parameters(net)
    for (k, a), b in zip(ours.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), k
    assert list(ours.state_dict()) == list(ref.state_dict())  # old training states resume
    other = EMA(net, decay=0.9)
    other.load_state_dict(ref.state_dict())
    assert other.n_averaged == 3


def _real_digits(tiny_npz) -> torch.Tensor:
    x = torch.from_numpy(np.load(tiny_npz)["x_train"]).permute(0, 3, 1, 2).float()
    return F.interpolate(x, size=16, mode="bilinear", antialias=True) / 127.5 - 1  # [512,1,16,16]


@pytest.mark.slow
def test_early_ema_generator_is_not_worse_than_the_raw_one(tiny_npz, tiny_overrides):
    """25 steps in: with the ramp-up the EMA generator's samples are as close to the real images
    as the raw G's (per-pixel mean and spread); without it the EMA is still mostly the initial
    weights and clearly worse (the flat-grey samples of issue 12 item 12)."""
    real = _real_digits(tiny_npz)

    def distance(x: torch.Tensor) -> float:
        return float((x.mean(0) - real.mean(0)).pow(2).mean().sqrt()
                     + (x.std(0) - real.std(0)).pow(2).mean().sqrt())

    cfg = build_config({}, tiny_overrides(tiny_npz))  # train.ema_rampup: 0.05 by default
    task = GANTask(cfg, MODELS.get(cfg.model.name), num_classes=0, device=torch.device("cpu"),
                   precision=Precision.resolve("fp32", "off", torch.device("cpu")), num_images=512)
    fixed = EMA(task.G, decay=cfg.train.ema_decay, rampup=None)  # the same G, no ramp-up
    g = torch.Generator().manual_seed(0)
    for step in range(25):
        idx = torch.randint(0, len(real), (16,), generator=g)
        task.train_step({"image": real[idx], "label": torch.zeros(16, dtype=torch.long)}, step)
        fixed.update(task.G, images_seen=(step + 1) * 16, batch=16)
    raw, ema, ema_fixed = (distance(generate_images(net, 128, 1, precision="fp32"))
                           for net in (task.G, task.ema.module, fixed.module))
    assert ema <= 1.05 * raw, (ema, raw)
    assert ema_fixed > 1.2 * raw, (ema_fixed, raw)  # the test can fail: without ramp-up it does
