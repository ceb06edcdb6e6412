"""Exponential moving average of a network's weights, with StyleGAN2's ramp-up (Karras et al.
2020): the averaging half-life is capped at a fraction of the images seen so far, so an EMA taken
from step 0 is not dominated by the initial weights early in training."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn


def ema_decay(decay: float, images_seen: int, batch: int, rampup: float | None) -> float:
    """The per-update decay after `images_seen` images, `batch` images per update.

    `decay` fixes a half-life of batch * ln(0.5) / ln(decay) images; with `rampup` the half-life
    is at most rampup * images_seen, and the decay is 0.5 ** (batch / half_life)."""
    if rampup is None or decay <= 0.0:
        return decay
    half_life = batch * math.log(0.5) / math.log(decay)  # images
    capped = min(half_life, rampup * max(images_seen, 0))
    return 0.5 ** (batch / max(capped, 1e-8))


class EMA:
    """An averaged copy of `source` (its parameters and buffers): a copy on the first update, then
    ema.lerp_(source, 1 - decay). Before `average` is asked for it simply tracks the source.

    state_dict() uses torch.optim.swa_utils.AveragedModel's layout (n_averaged, module.*), so
    training states written before this class existed still resume."""

    def __init__(self, source: nn.Module, *, decay: float, rampup: float | None = None) -> None:
        self.module = copy.deepcopy(source).requires_grad_(False)
        self.decay, self.rampup = decay, rampup
        self.n_averaged = 0
        self.last_decay = decay

    @torch.no_grad()
    def update(self, source: nn.Module, *, images_seen: int, batch: int,
               average: bool = True) -> None:
        ema = [*self.module.parameters(), *self.module.buffers()]
        src = [t.detach() for t in (*source.parameters(), *source.buffers())]
        if not average or self.n_averaged == 0:
            torch._foreach_copy_(ema, src)
        else:
            d = self.last_decay = ema_decay(self.decay, images_seen, batch, self.rampup)
            floats = [i for i, e in enumerate(ema) if e.is_floating_point()]
            torch._foreach_lerp_([ema[i] for i in floats], [src[i] for i in floats], 1.0 - d)
            for e, g in zip(ema, src, strict=True):
                if not e.is_floating_point():  # BatchNorm's num_batches_tracked
                    e.copy_(e * d + g * (1 - d))
        if average:
            self.n_averaged += 1

    def state_dict(self) -> dict[str, Any]:
        state = {f"module.{k}": v for k, v in self.module.state_dict().items()}
        return {"n_averaged": torch.tensor(self.n_averaged, dtype=torch.long), **state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.n_averaged = int(state["n_averaged"])
        self.module.load_state_dict({k[len("module."):]: v for k, v in state.items()
                                     if k.startswith("module.")})
