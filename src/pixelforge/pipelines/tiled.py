"""Tiled inference: run an image-to-image network tile by tile so any image size fits in bounded memory.

Each tile of `tile` input pixels is cut out with `pad` extra pixels of context on every side
(clipped at the image border), processed, and only its centre is written back. When the network's
receptive field fits within `pad`, the result equals a whole-image pass up to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from pixelforge.errors import UserError

Fn = Callable[[torch.Tensor], torch.Tensor]


def tile_spans(length: int, tile: int) -> list[tuple[int, int]]:
    """[start, end) spans of at most `tile` covering 0..length (the last one may be shorter)."""
    return [(s, min(s + tile, length)) for s in range(0, length, tile)]


def check_tiling(tile: int, pad: int) -> None:
    if tile < 0:
        raise UserError(f"tile={tile}: must be >= 0 (0 = no tiling)", field="tile")
    if pad < 0:
        raise UserError(f"tile_pad={pad}: must be >= 0", field="tile_pad")
    if tile and tile < 8:
        raise UserError(f"tile={tile}: too small; use 0 (off) or at least 8 px", field="tile")


@torch.no_grad()
def tiled_apply(fn: Fn, x: torch.Tensor, *, scale: int = 1, tile: int = 0, pad: int = 16,
                out_channels: int | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
    """fn: [N, C, h, w] -> [N, C', scale*h, scale*w], applied to x [N, C, H, W] in tiles.

    tile 0 (or an image no larger than one tile) runs fn once on the whole image. The output
    [N, C', scale*H, scale*W] is float32 on the CPU; pass `out` to write into a buffer you own.
    """
    check_tiling(tile, pad)
    n, c, h, w = x.shape
    if not tile or (h <= tile and w <= tile):
        y = fn(x).float().cpu()
        if out is not None:
            out.copy_(y)
            return out
        return y
    if out is None:
        out = torch.empty(n, out_channels or c, h * scale, w * scale, dtype=torch.float32)
    for y0, y1 in tile_spans(h, tile):
        for x0, x1 in tile_spans(w, tile):
            py0, py1 = max(0, y0 - pad), min(h, y1 + pad)
            px0, px1 = max(0, x0 - pad), min(w, x1 + pad)
            res = fn(x[:, :, py0:py1, px0:px1]).float().cpu()  # [N, C', s*ph, s*pw]
            oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
            out[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                res[:, :, oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
    return out
