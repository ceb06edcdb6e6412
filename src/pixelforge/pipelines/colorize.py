"""Colourisation inference with a chroma-only colouriser (models/colorizer.py): any size, tiled.

`chroma(x)` runs the network on the luma of x (gray, or RGB converted to BT.601 luma) and returns
the predicted Cb, Cr; `colorize(x)` (also `translate`, so `pixelforge translate`, `pixelforge
eval` and the studio's Restore page run it as any translation) recombines them with x's own luma
(core/chroma.py). Image files with an exact integer luma: files/colorize.py.

The shipped colouriser, once one is trained, lives in pixelforge/assets/models/colorize/.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pixelforge.core.chroma import exact_rgb, recombine
from pixelforge.core.images import to_float, to_gray, to_uint8
from pixelforge.errors import UserError
from pixelforge.pipelines.base import register_pipeline
from pixelforge.pipelines.restore import SHIPPED_DIR
from pixelforge.pipelines.translate import DEFAULT_TILE_PAD, TranslatePipeline

SHIPPED_NAME = "colorize"
RECIPE = "translation/photos_colorize_chroma"


@register_pipeline("colorize")
class ColorizePipeline(TranslatePipeline):
    """A chroma-predicting generator (component generator_ab: gray A -> colour B)."""

    @property
    def chroma_gain(self) -> float:
        """The factor the predicted chroma is multiplied by: the one fitted for this model (in
        model_index.json, "colorize": {"chroma_gain": ...}, written by `benchmarks/translation.py
        fit-gain` on training photos), else 1. L1-trained colourisers hedge toward gray; the
        gain restores the training photos' colourfulness."""
        return float((self.index.get("colorize") or {}).get("chroma_gain", 1.0))

    def chroma(self, x: torch.Tensor, *, tile: int | None = None,
               tile_pad: int = DEFAULT_TILE_PAD, precision: str = "auto",
               batch_size: int = 8, max_memory: float | int | str | None = None,
               noise: bool = False, seed: int | None = 0,
               gain: float | None = None) -> torch.Tensor:
        """x [N, 1 or 3, H, W] in [-1, 1] -> predicted chroma [N, 2, H, W] (Cb, Cr) of its luma,
        times `gain` (None: the model's fitted chroma_gain; 0 gives gray, > 1 more colour).
        Tiling as TranslatePipeline.translate (tile None: whole unless over max_memory)."""
        gain = self.chroma_gain if gain is None else float(gain)
        if not 0 <= gain <= 4:
            raise UserError(f"gain={gain:g}: the chroma gain must be within 0-4", field="gain")
        out = super().translate(x, direction="a2b", tile=tile, tile_pad=tile_pad,
                                precision=precision, noise=noise, seed=seed,
                                batch_size=batch_size, max_memory=max_memory)
        return out if gain == 1 else out * gain

    def colorize(self, x: torch.Tensor, *, direction: str | None = None, exact: bool = True,
                 **options) -> torch.Tensor:
        """x [N, 1 or 3, H, W] in [-1, 1] -> RGB [N, 3, H, W] in [-1, 1] with x's luma.

        exact=True (default): the luma is taken at 8 bits (RGB inputs: their BT.601 luma) and the
        result holds 8-bit levels whose rounded luma is exactly that (core.chroma.exact_rgb), as
        a saved file would; False: float recombination. `options` as `chroma`. Image files at
        their own bit depth: files/colorize.py."""
        if direction not in (None, "a2b"):
            raise UserError(f"direction={direction!r}: a colouriser maps gray to colour (a2b) "
                            "only", field="direction")
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise UserError(f"colorize takes [N, 1 or 3, H, W] images, got {tuple(x.shape)}")
        luma = to_gray(x.float())
        if not exact:
            return recombine(luma, self.chroma(luma, **options))
        levels = to_uint8(luma)  # [N, 1, H, W]
        chroma = self.chroma(to_float(levels), **options).numpy()  # [N, 2, H, W]
        rgb = [torch.from_numpy(exact_rgb(lv[0], c, 8)) for lv, c in
               zip(levels.numpy(), chroma, strict=True)]  # [H, W, 3] uint8 each
        return to_float(torch.stack(rgb).permute(0, 3, 1, 2))

    translate = colorize
    __call__ = colorize


def load_colorizer(model: str | Path | None = None) -> ColorizePipeline:
    """The colouriser of a run/checkpoint folder or shipped name ("colorize"), or the shipped
    one when model is None (a UserError saying none ships yet, and how to train one, when it is
    not installed)."""
    from pixelforge.pipelines.base import load_pipeline

    if model == SHIPPED_NAME and not Path(model).exists():
        model = None
    if model is None:
        path = SHIPPED_DIR / SHIPPED_NAME
        if not (path / "model_index.json").is_file():
            raise UserError(
                "no colouriser ships with this pixelforge yet; train one with `pixelforge train "
                f"--config {RECIPE} --out runs/colorize` and pass model=runs/colorize",
                field="model")
        model = path
    pipe = load_pipeline(model)
    if not isinstance(pipe, ColorizePipeline):
        found = getattr(pipe, "name", None) or getattr(pipe, "role", None) or type(pipe).__name__
        raise UserError(f"{model} holds a {found!r} model, not a chroma colouriser (kind "
                        "colorize); a pix2pix colouriser runs with `pixelforge translate`",
                        field="model")
    return pipe
