"""Training-health monitor: finds divergence (NaN/inf, exploding D loss) and mode collapse (sample
diversity far below the real data's), so the trainer can warn, stop or roll back."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pixelforge.config import HealthConfig


@dataclass(frozen=True)
class Problem:
    """One detection: what, when, and whether training can go on from the current state."""

    kind: str  # "nan", "explosion" or "collapse"
    step: int
    message: str
    fatal: bool


def pairwise_spread(images: torch.Tensor) -> float:
    """Mean L2 distance between distinct pairs of images [N, C, H, W] (N >= 2)."""
    x = images.detach().float().flatten(1)
    d = torch.cdist(x, x)  # [N, N]
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def diversity_ratio(fake: torch.Tensor, reference_spread: float) -> float:
    """Spread of generated images relative to real ones: ~1 as diverse as the data, 0 = one image."""
    return pairwise_spread(fake) / max(reference_spread, 1e-12)


class HealthMonitor:
    """Fed every step's (process-averaged) losses and, every `cfg.every` steps, a fixed-seed sample
    batch; returns a Problem when something is wrong. Decisions are identical on every DDP rank.
    `loss_key` is the loss watched for explosions (the Task's health_loss_key; None: none)."""

    def __init__(self, cfg: HealthConfig, real_reference: torch.Tensor,
                 loss_key: str | None = "loss_d") -> None:
        self.cfg, self.loss_key = cfg, loss_key
        self.reference_spread = pairwise_spread(real_reference)
        self.loss_scale: float | None = None  # running mean of |logs[loss_key]|
        self.last_diversity: float | None = None

    def reset(self) -> None:
        """Forget running statistics (after a rollback the history no longer applies)."""
        self.loss_scale = None

    def check_losses(self, logs: dict[str, float], step: int) -> Problem | None:
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if bad:
            what = ", ".join(f"{k}={v}" for k, v in bad.items())
            return Problem("nan", step, f"training diverged at step {step}: {what}", fatal=True)
        key = self.loss_key
        if not self.cfg.enabled or key is None or key not in logs:
            return None
        size = abs(logs[key])
        if self.loss_scale is not None and step > self.cfg.warmup \
                and size > self.cfg.explode_factor * max(self.loss_scale, 1.0):
            return Problem("explosion", step,
                           f"{key} exploded at step {step}: |{key}|={size:.4g} is over "
                           f"health.explode_factor={self.cfg.explode_factor:g} x its running mean "
                           f"{self.loss_scale:.4g}", fatal=False)
        self.loss_scale = size if self.loss_scale is None else 0.98 * self.loss_scale + 0.02 * size
        return None

    def due(self, step: int) -> bool:
        return self.cfg.enabled and step % self.cfg.every == 0

    def check_samples(self, images: torch.Tensor, step: int) -> Problem | None:
        """Mode collapse: fixed-seed samples whose spread falls below health.collapse_threshold."""
        score = diversity_ratio(images, self.reference_spread)
        self.last_diversity = score
        if step > self.cfg.warmup and score < self.cfg.collapse_threshold:
            return Problem("collapse", step,
                           f"mode collapse at step {step}: sample diversity {score:.3f} is below "
                           f"health.collapse_threshold={self.cfg.collapse_threshold:g} (1.0 = as "
                           "diverse as the real images)", fatal=False)
        return None
