"""Augmentation of D's inputs for small data: DiffAugment, optionally with ADA's adaptive p."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pixelforge.augment.ada import AdaController
from pixelforge.augment.diffaugment import POLICIES, DiffAugment

__all__ = ["POLICIES", "AdaController", "DiffAugment", "build_augment"]

Log = logging.Logger | Callable[[str], object] | None


def build_augment(cfg_augment, num_images: int | None, log: Log = None, *,
                  channels: int | None = None, steps: int | None = None,
                  time_budget: float | None = None
                  ) -> tuple[DiffAugment | None, AdaController | None, str]:
    """Resolve an AugmentConfig into (augment or None, ADA controller or None, one-line reason).

    `auto` follows the project's measurements (docs/benchmarks.md, "Targets and
    recommendations"): translation-only DiffAugment paid on 1k colour images in runs of 5000+
    steps / 25-30 CPU-minutes (0.45-0.70x FD, three seeds) and lost or tied in shorter runs and on
    digits. So auto turns it on only for fewer than `small_data` colour images (`channels` 3) in
    a run of at least `auto_min_steps` steps (`steps`) and, when a `time_budget` (minutes) caps
    it, `auto_min_minutes`. `ada` starts at `p` and lets an AdaController move it. The reason is
    also sent to `log` (a logger's info, or any callable taking a string) when one is given.
    """
    c = cfg_augment
    policy = tuple(c.policy)
    names = ", ".join(policy)
    augment: DiffAugment | None = None
    ada: AdaController | None = None
    if c.kind == "none":
        reason = "augment: off (augment.kind=none)"
    elif not policy:
        reason = f"augment: off: augment.policy is empty (augment.kind={c.kind})"
    elif c.kind == "auto":
        reason = _auto_off_reason(c, num_images, channels, steps, time_budget)
        if reason is None:
            augment = DiffAugment(("translation",), pad=c.pad)
            reason = (f"augment: {augment!r} on (augment.kind=auto): {num_images} colour images < "
                      f"augment.small_data={c.small_data}, a run of {steps} steps")
    elif c.kind == "diffaugment":
        augment = DiffAugment(policy, pad=c.pad)
        reason = f"augment: {augment!r} on (augment.kind=diffaugment)"
    elif c.kind == "ada":
        ada = AdaController(target=c.ada_target, interval=c.ada_interval, speed_images=c.ada_speed,
                            p=c.p)
        augment = DiffAugment(policy, p=ada.p, pad=c.pad)
        reason = (f"augment: ADA({names}) on (augment.kind=ada): p starts at {ada.p:g}, moves toward "
                  f"E[sign(D(real))]={ada.target:g} every {ada.interval} D steps, by 1 per "
                  f"{ada.speed_images} images")
    else:
        from pixelforge.errors import UserError

        raise UserError(f"augment.kind: unknown {c.kind!r}; allowed: auto, none, diffaugment, ada")
    if log is not None:
        (log.info if isinstance(log, logging.Logger) else log)(reason)
    return augment, ada, reason


def _auto_off_reason(c, num_images, channels, steps, time_budget) -> str | None:
    """Why `auto` leaves augmentation off, or None when it should be on."""
    off = "augment: off (augment.kind=auto): "
    if num_images is None:
        return off + "the number of training images is unknown"
    if num_images >= c.small_data:
        return off + f"{num_images} images >= augment.small_data={c.small_data}"
    if channels != 3:
        return off + "grayscale data (augmentation lost on 1k digits at every measured budget)"
    if steps is None or steps < c.auto_min_steps:
        return off + (f"a run of {steps} steps < augment.auto_min_steps={c.auto_min_steps} "
                      "(it only paid in long runs)")
    if time_budget is not None and time_budget < c.auto_min_minutes:
        return off + (f"train.time_budget={time_budget:g} min < augment.auto_min_minutes="
                      f"{c.auto_min_minutes:g}")
    return None
