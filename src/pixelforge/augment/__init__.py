"""Augmentation of D's inputs for small data: DiffAugment, optionally with ADA's adaptive p."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pixelforge.augment.ada import AdaController
from pixelforge.augment.diffaugment import POLICIES, DiffAugment

__all__ = ["POLICIES", "AdaController", "DiffAugment", "build_augment"]

Log = logging.Logger | Callable[[str], object] | None


def build_augment(cfg_augment, num_images: int | None,
                  log: Log = None) -> tuple[DiffAugment | None, AdaController | None, str]:
    """Resolve an AugmentConfig into (augment or None, ADA controller or None, one-line reason).

    `auto` turns DiffAugment on when the training data has fewer than `small_data` images;
    `ada` starts at `p` and lets an AdaController move it. The reason is also sent to `log`
    (a logger's info, or any callable taking a string) when one is given.
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
        if num_images is None:
            reason = "augment: off: the number of training images is unknown (augment.kind=auto)"
        elif num_images < c.small_data:
            augment = DiffAugment(policy, pad=c.pad)
            reason = f"augment: {augment!r} on: {num_images} images < augment.small_data={c.small_data}"
        else:
            reason = f"augment: off: {num_images} images >= augment.small_data={c.small_data}"
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
