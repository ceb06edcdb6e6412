"""Seeded inpainting masks after LaMa's thin / medium / thick protocols (Suvorov et al., 2022).

A mask is a float tensor [1, H, W] with 1 = hole (pixel to fill) and 0 = known. Shapes are random
polyline strokes (each a few straight segments drawn with a round brush) plus, for medium and thick,
axis-aligned boxes. Sizes are given for a 512 px image and scale with min(H, W) / 512. Shapes are
added one at a time and a shape that would push the hole area past `max_ratio` (50%) is skipped,
so no mask exceeds the cap. The same (protocol, size, seed) always gives the same mask.

Hole ratio over 200 masks at 256 px (mean / 10th-90th percentile): thin 0.11 (0.03-0.17), medium
0.27 (0.16-0.38), thick 0.35 (0.17-0.49); tests/restoration/test_masks.py checks these.

The "wide" modes (LaMa's wide masks for large holes) are coverage-targeted instead: a target hole
fraction is drawn uniformly from the mode's range and thick strokes and boxes are added until the
hole reaches it, so every mask lies within the range: "wide" 10-50%, "wide15_40" 15-40% (the
issue-20 benchmark's "boxes + strokes 15-40%"); tests/restoration/test_inpaint_ffc.py checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from pixelforge.errors import UserError

MAX_RATIO = 0.5


@dataclass(frozen=True)
class MaskProtocol:
    """Stroke and box parameters at the 512 px reference size (all ranges inclusive)."""

    strokes: tuple[int, int]  # number of strokes
    width: tuple[int, int]  # brush width in px
    segments: tuple[int, int]  # straight segments per stroke
    seg_len: tuple[int, int]  # length of each segment in px
    p_boxes: float  # probability of adding boxes at all
    boxes: tuple[int, int] = (0, 0)  # number of boxes when added
    box_side: tuple[int, int] = (0, 0)  # box side length in px


PROTOCOLS: dict[str, MaskProtocol] = {
    # many narrow scribbles: thin lines over the whole image
    "thin": MaskProtocol(strokes=(4, 50), width=(4, 20), segments=(1, 5), seg_len=(10, 50),
                         p_boxes=0.0),
    # fewer, wider strokes plus sometimes a few mid-sized boxes
    "medium": MaskProtocol(strokes=(4, 10), width=(10, 100), segments=(1, 5), seg_len=(10, 110),
                           p_boxes=0.3, boxes=(1, 5), box_side=(30, 150)),
    # a few very wide strokes plus sometimes large boxes
    "thick": MaskProtocol(strokes=(1, 5), width=(10, 250), segments=(1, 5), seg_len=(10, 210),
                          p_boxes=0.3, boxes=(1, 4), box_side=(30, 300)),
}


# coverage-targeted modes: (min, max) hole fraction; shapes from the thick protocol's strokes and
# boxes twice its largest side, so a few shapes make a large hole
WIDE: dict[str, tuple[float, float]] = {"wide": (0.10, 0.50), "wide15_40": (0.15, 0.40)}
WIDE_SHAPES = MaskProtocol(strokes=(1, 1), width=(60, 250), segments=(1, 4), seg_len=(40, 260),
                           p_boxes=1.0, boxes=(1, 1), box_side=(60, 360))
MASK_MODES = (*PROTOCOLS, *WIDE)


def _ratio(canvas: Image.Image) -> float:
    return float(np.count_nonzero(np.asarray(canvas))) / (canvas.width * canvas.height)


def _try_add(canvas: Image.Image, shape: Image.Image, max_ratio: float) -> Image.Image:
    """Union of canvas and shape, unless that exceeds max_ratio (then the canvas unchanged)."""
    merged = Image.fromarray(np.maximum(np.asarray(canvas), np.asarray(shape)))
    return merged if _ratio(merged) <= max_ratio else canvas


def _stroke(rng: np.random.Generator, h: int, w: int, p: MaskProtocol, s: float) -> Image.Image:
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    width = max(1, round(rng.integers(p.width[0], p.width[1] + 1) * s))
    x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    angle = float(rng.uniform(0, 2 * math.pi))
    r = width / 2
    draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    for _ in range(int(rng.integers(p.segments[0], p.segments[1] + 1))):
        angle += float(rng.uniform(-2.0, 2.0))  # a turn of up to ~115 degrees per vertex
        length = float(rng.uniform(*p.seg_len)) * s
        nx = min(max(x + length * math.cos(angle), 0.0), w - 1.0)
        ny = min(max(y + length * math.sin(angle), 0.0), h - 1.0)
        draw.line((x, y, nx, ny), fill=255, width=width)
        draw.ellipse((nx - r, ny - r, nx + r, ny + r), fill=255)  # round joints
        x, y = nx, ny
    return img


def _box(rng: np.random.Generator, h: int, w: int, p: MaskProtocol, s: float) -> Image.Image:
    img = Image.new("L", (w, h), 0)
    bw = min(w, max(1, round(rng.integers(p.box_side[0], p.box_side[1] + 1) * s)))
    bh = min(h, max(1, round(rng.integers(p.box_side[0], p.box_side[1] + 1) * s)))
    x0 = int(rng.integers(0, w - bw + 1))
    y0 = int(rng.integers(0, h - bh + 1))
    ImageDraw.Draw(img).rectangle((x0, y0, x0 + bw - 1, y0 + bh - 1), fill=255)
    return img


def random_mask(protocol: str, height: int, width: int, seed: int, *,
                max_ratio: float = MAX_RATIO) -> torch.Tensor:
    """One mask [1, H, W] (float, 1 = hole) of the named protocol; deterministic in `seed`."""
    p = PROTOCOLS.get(protocol)
    if p is None and protocol not in WIDE:
        raise UserError(f"mask protocol {protocol!r}: choose one of {', '.join(MASK_MODES)}")
    if height < 1 or width < 1:
        raise UserError(f"mask size must be positive, got {height}x{width}")
    if p is None:
        return wide_mask(protocol, height, width, seed)
    rng = np.random.default_rng([int(seed), height, width, list(PROTOCOLS).index(protocol)])
    s = min(height, width) / 512
    canvas = Image.new("L", (width, height), 0)
    for _ in range(int(rng.integers(p.strokes[0], p.strokes[1] + 1))):
        canvas = _try_add(canvas, _stroke(rng, height, width, p, s), max_ratio)
    if p.p_boxes and rng.uniform() < p.p_boxes:
        for _ in range(int(rng.integers(p.boxes[0], p.boxes[1] + 1))):
            canvas = _try_add(canvas, _box(rng, height, width, p, s), max_ratio)
    if not np.any(np.asarray(canvas)):  # never return an empty mask: one minimal stroke
        canvas = _stroke(np.random.default_rng([int(seed), 1]), height, width, p, s)
    return torch.from_numpy((np.asarray(canvas) > 0).astype(np.float32))[None]


def wide_mask(mode: str, height: int, width: int, seed: int) -> torch.Tensor:
    """One coverage-targeted mask [1, H, W] of WIDE mode `mode`: boxes and thick strokes, in
    turn, until the hole reaches a target drawn within the mode's range (a shape that would pass
    the range's top is skipped); if 64 shapes fall short, a box of the range's bottom fraction is
    added, which lands within the range because the bottom is at most half the top."""
    lo, hi = WIDE[mode]
    rng = np.random.default_rng([int(seed), height, width, len(PROTOCOLS) + list(WIDE).index(mode)])
    target = float(rng.uniform(lo, hi))
    s = min(height, width) / 512
    canvas = Image.new("L", (width, height), 0)
    for i in range(64):
        if _ratio(canvas) >= target:
            break
        draw = _box if i % 2 == 0 else _stroke
        canvas = _try_add(canvas, draw(rng, height, width, WIDE_SHAPES, s), hi)
    if _ratio(canvas) < lo:
        side = math.sqrt(lo) * 1.02
        bw, bh = min(width, math.ceil(side * width)), min(height, math.ceil(side * height))
        x0, y0 = int(rng.integers(0, width - bw + 1)), int(rng.integers(0, height - bh + 1))
        ImageDraw.Draw(canvas).rectangle((x0, y0, x0 + bw - 1, y0 + bh - 1), fill=255)
    return torch.from_numpy((np.asarray(canvas) > 0).astype(np.float32))[None]


def random_masks(protocol: str, n: int, height: int, width: int, seed: int) -> torch.Tensor:
    """n masks [n, 1, H, W]; mask i uses seed (seed, i) so subsets stay reproducible."""
    return torch.stack([random_mask(protocol, height, width, seed * 100_003 + i) for i in range(n)])


def box_mask(height: int, width: int, x: int, y: int, w: int, h: int) -> torch.Tensor:
    """A rectangular hole [1, H, W] at (x, y) of size w x h, clipped to the image."""
    if w < 1 or h < 1:
        raise UserError(f"box=({x}, {y}, {w}, {h}): width and height must be >= 1", field="box")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise UserError(f"box=({x}, {y}, {w}, {h}): lies outside the {width}x{height} image",
                        field="box")
    m = torch.zeros(1, height, width)
    m[:, max(0, y): y + h, max(0, x): x + w] = 1
    return m
