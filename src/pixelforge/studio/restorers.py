"""How the Restore page runs each image-to-image pipeline, by pipeline name (model_index.json's
"pipeline"). A new restoration or translation pipeline shows on the page once it registers a
`Restorer` here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from pixelforge.errors import UserError
from pixelforge.studio.uploads import mask_batch, rgb_batch


@dataclass(frozen=True)
class Restorer:
    """How the Restore page runs one pipeline: `run(pipeline, image [1, 3, H, W] in [-1, 1],
    mask [1, 1, H, W] (1 = hole) or None) -> image tensor`. needs_mask: show the mask canvas."""

    pipeline: str
    run: Callable[..., torch.Tensor]
    needs_mask: bool = False


RESTORERS: dict[str, Restorer] = {}


def register_restorer(restorer: Restorer) -> Restorer:
    """Make the Restore page offer every checkpoint whose model_index.json names this pipeline."""
    RESTORERS[restorer.pipeline] = restorer
    return restorer


register_restorer(Restorer("denoise", lambda p, x, m: p.denoise(x, precision="fp32")))
register_restorer(Restorer("upscale", lambda p, x, m: p.upscale(x, precision="fp32")))
register_restorer(Restorer("inpaint", lambda p, x, m: p.inpaint(x, m, precision="fp32"),
                           needs_mask=True))
register_restorer(Restorer("translate", lambda p, x, m: p.translate(x)))
register_restorer(Restorer("colorize", lambda p, x, m: p.colorize(x, precision="fp32")))


def needs_mask(pipeline: str) -> bool:
    """Whether the page asks for a drawn hole before running `pipeline`."""
    r = RESTORERS.get(pipeline)
    return bool(r and r.needs_mask)


def restore(pipe: Any, pipeline: str, image, mask=None):
    """Run a restoration/translation pipeline on a PIL image (+ PIL mask, 255 = hole) -> PIL."""
    from pixelforge.core.images import to_pil

    r = RESTORERS.get(pipeline)
    if r is None:
        raise UserError(f"the studio has no page for pipeline {pipeline!r}")
    m = None
    if r.needs_mask:
        if mask is None:
            raise UserError("draw the hole to fill on the image first")
        m = mask_batch(mask)
    out = r.run(pipe, rgb_batch(image), m)  # [1, C, H', W'] in [-1, 1]
    return to_pil(out.float().clamp(-1, 1))[0]
