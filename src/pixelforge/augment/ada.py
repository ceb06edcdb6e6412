"""Adaptive augmentation probability (ADA, Karras et al. 2020): raise p while D overfits the reals.

The overfitting signal is r_t = E[sign(D(real))] over the last `interval` D steps: near 0 when D
cannot tell reals apart from fakes, near 1 when it has memorised them. After each interval p moves
by sign(r_t - target) * (real images seen / speed_images), kept in [0, p_max].
"""

from __future__ import annotations

from typing import Any

import torch

from pixelforge.errors import UserError


class AdaController:
    """Feed it D's logits on real images after every D step; read `.p` for the augmentation."""

    def __init__(self, target: float = 0.6, interval: int = 4, speed_images: int = 100_000,
                 p: float = 0.0, p_max: float = 1.0) -> None:
        if not 0.0 < p_max <= 1.0:
            raise UserError(f"ADA p_max must be in (0, 1], got {p_max}")
        if not 0.0 <= p <= p_max:
            raise UserError(f"augment.p must be in [0, {p_max}], got {p}")
        if interval < 1:
            raise UserError(f"augment.ada_interval must be >= 1, got {interval}")
        if speed_images < 1:
            raise UserError(f"augment.ada_speed must be >= 1, got {speed_images}")
        self.target, self.interval = float(target), int(interval)
        self.speed_images, self.p_max = int(speed_images), float(p_max)
        self._p = float(p)
        self._sign_sum = 0  # sum of sign(D(real)) over the current interval
        self._count = 0  # logits summed (NaNs are skipped)
        self._images = 0  # real images seen in the current interval
        self._steps = 0  # D steps observed in the current interval
        self.last_rt: float | None = None  # r_t of the last finished interval
        self.adjustments = 0  # finished intervals

    @property
    def p(self) -> float:
        return self._p

    def observe(self, real_logits: torch.Tensor | tuple) -> float:
        """Record one D step's logits on reals [N] (an AC-GAN tuple: its first item); returns p."""
        if isinstance(real_logits, (tuple, list)):
            real_logits = real_logits[0]
        logits = real_logits.detach().float().flatten()
        self._images += len(logits)
        logits = logits[~torch.isnan(logits)]
        self._sign_sum += int(torch.sign(logits).sum().item())
        self._count += len(logits)
        self._steps += 1
        if self._steps >= self.interval:
            self._adjust()
        return self._p

    def _adjust(self) -> None:
        if self._count:
            rt = self._sign_sum / self._count
            direction = (rt > self.target) - (rt < self.target)  # sign(r_t - target)
            step = direction * self._images / self.speed_images
            self._p = min(max(self._p + step, 0.0), self.p_max)
            self.last_rt = rt
        self.adjustments += 1
        self._sign_sum = self._count = self._images = self._steps = 0

    def state_dict(self) -> dict[str, Any]:
        """Plain, JSON-able numbers: p, the running interval and the last r_t (exact resume)."""
        return {"p": self._p, "sign_sum": self._sign_sum, "count": self._count,
                "images": self._images, "steps": self._steps, "last_rt": self.last_rt,
                "adjustments": self.adjustments}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        p = float(state["p"])
        if not 0.0 <= p <= self.p_max:
            raise UserError(f"ADA state: p={p} is outside [0, {self.p_max}]")
        self._p = p
        self._sign_sum, self._count = int(state["sign_sum"]), int(state["count"])
        self._images, self._steps = int(state["images"]), int(state["steps"])
        rt = state.get("last_rt")
        self.last_rt = None if rt is None else float(rt)
        self.adjustments = int(state.get("adjustments", 0))

    def __repr__(self) -> str:
        return (f"AdaController(p={self._p:.4f}, target={self.target}, interval={self.interval}, "
                f"speed_images={self.speed_images})")
