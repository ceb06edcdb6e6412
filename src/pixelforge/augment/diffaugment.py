"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout of D's inputs.

Applied to real and fake images alike before D, so D cannot memorise a small data set while the
generator still gets gradients through the augmented fakes. With p < 1 each op fires per sample
with probability p (the ADA setting, Karras et al. 2020); p = 1 is plain DiffAugment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import torch

from pixelforge.errors import UserError

TRANSLATION_RATIO = 1 / 8  # largest shift, as a fraction of the side
CUTOUT_RATIO = 1 / 2  # side of the cut square, as a fraction of the side
PADS = ("zero", "reflect")  # what translation shifts in: 0 (DiffAugment's grey), or the mirror image

# An op maps (x [N, C, H, W], fires [N] bool, rng) -> x; samples whose flag is False stay as they are.
Op = Callable[[torch.Tensor, torch.Tensor, "_Random"], torch.Tensor]


class _Random:
    """Draws every random tensor on the CPU from one generator (None: the global one), then
    moves it to the images' device, so a step is reproducible whatever the device."""

    def __init__(self, generator: torch.Generator | None, device: torch.device) -> None:
        self.generator, self.device = generator, device

    def uniform(self, n: int) -> torch.Tensor:  # float32 [n] in [0, 1)
        return torch.rand(n, generator=self.generator).to(self.device)

    def integers(self, low: int, high: int, n: int) -> torch.Tensor:  # int64 [n] in [low, high)
        return torch.randint(low, high, (n,), generator=self.generator).to(self.device)


def _per_sample(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """[N] -> [N, 1, 1, 1] in x's dtype, for broadcasting over an image batch."""
    return values.to(x.dtype).view(-1, 1, 1, 1)


def _brightness(x: torch.Tensor, fires: torch.Tensor, rng: _Random) -> torch.Tensor:
    shift = (rng.uniform(len(x)) - 0.5) * fires  # add U(-0.5, 0.5)
    return x + _per_sample(shift, x)


def _saturation(x: torch.Tensor, fires: torch.Tensor, rng: _Random) -> torch.Tensor:
    factor = rng.uniform(len(x)) * 2  # scale the distance from the grey value by U(0, 2)
    if x.shape[1] == 1:  # grayscale: nothing to (de)saturate
        return x
    factor = torch.where(fires, factor, torch.ones_like(factor))
    grey = x.mean(dim=1, keepdim=True)  # [N, 1, H, W]
    return (x - grey) * _per_sample(factor, x) + grey


def _contrast(x: torch.Tensor, fires: torch.Tensor, rng: _Random) -> torch.Tensor:
    factor = rng.uniform(len(x)) + 0.5  # scale the distance from the image mean by U(0.5, 1.5)
    factor = torch.where(fires, factor, torch.ones_like(factor))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # [N, 1, 1, 1]
    return (x - mean) * _per_sample(factor, x) + mean


def _reflect(i: torch.Tensor, size: int) -> torch.Tensor:
    """Indices in [-size + 1, 2 * size - 2] mirrored into [0, size) about the edge pixels."""
    i = i.abs()
    return torch.where(i > size - 1, 2 * (size - 1) - i, i)


def _translation(x: torch.Tensor, fires: torch.Tensor, rng: _Random,
                 pad: str = "zero") -> torch.Tensor:
    """Shift each image by its own integer (dy, dx), at most 1/8 of the side. Vacated pixels are 0
    (mid-grey in [-1, 1], as in DiffAugment) or, with pad="reflect", the image mirrored at its
    edge (as in ADA), which adds no border a data set's images never have."""
    n, c, h, w = x.shape
    max_y, max_x = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy = rng.integers(-max_y, max_y + 1, n) * fires  # [N]
    dx = rng.integers(-max_x, max_x + 1, n) * fires
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(n, 1, 1)  # source row [N, H, 1]
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(n, 1, 1)  # source col [N, 1, W]
    if pad == "reflect":
        source = _reflect(rows, h) * w + _reflect(cols, w)  # flat source index [N, H, W]
    else:
        inside = ((rows >= 0) & (rows < h)) & ((cols >= 0) & (cols < w))  # [N, H, W]
        source = rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)
    flat = x.reshape(n, c, h * w)
    moved = flat.gather(2, source.view(n, 1, h * w).expand(n, c, h * w)).view(n, c, h, w)
    return moved if pad == "reflect" else moved * inside.unsqueeze(1).to(x.dtype)


def _cutout(x: torch.Tensor, fires: torch.Tensor, rng: _Random) -> torch.Tensor:
    """Zero one square of half the side per image, centred anywhere (clipped at the border)."""
    n, _, h, w = x.shape
    size_y, size_x = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = rng.integers(0, h, n) - size_y // 2  # [N]
    left = rng.integers(0, w, n) - size_x // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1) - top.view(n, 1, 1)  # [N, H, 1]
    cols = torch.arange(w, device=x.device).view(1, 1, w) - left.view(n, 1, 1)  # [N, 1, W]
    cut = (rows >= 0) & (rows < size_y) & (cols >= 0) & (cols < size_x)  # [N, H, W]
    cut = cut & fires.view(n, 1, 1)
    return x * (~cut).unsqueeze(1).to(x.dtype)


# Each policy name expands to one or more ops; every op has its own per-sample coin when p < 1.
POLICIES: dict[str, tuple[Op, ...]] = {
    "color": (_brightness, _saturation, _contrast),
    "translation": (_translation,),
    "cutout": (_cutout,),
}


class DiffAugment:
    """Callable augmentation of float image batches [N, C, H, W] in [-1, 1]; differentiable in x.

    Every op is applied per sample with probability `p` (settable, e.g. by an AdaController).
    `pad` is what translation shifts in (PADS). All randomness comes from the `generator` passed
    per call (CPU; None: torch's global RNG).
    """

    def __init__(self, policy: Iterable[str] = ("color", "translation", "cutout"),
                 p: float = 1.0, pad: str = "zero") -> None:
        self.policy = tuple(policy)
        unknown = [name for name in self.policy if name not in POLICIES]
        if unknown:
            raise UserError(f"augment.policy: unknown op {unknown[0]!r}; allowed: "
                            f"{', '.join(POLICIES)}")
        if pad not in PADS:
            raise UserError(f"augment.pad: unknown {pad!r}; allowed: {', '.join(PADS)}")
        self.pad = pad
        self._ops = [partial(op, pad=pad) if op is _translation else op
                     for name in self.policy for op in POLICIES[name]]
        self.p = p

    @property
    def p(self) -> float:
        return self._p

    @p.setter
    def p(self, value: float) -> None:
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise UserError(f"augment.p must be in [0, 1], got {value}")
        self._p = value

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"DiffAugment expects images [N, C, H, W], got shape {tuple(x.shape)}")
        if self._p == 0.0 or not self.policy or len(x) == 0:
            return x
        rng = _Random(generator, x.device)
        out = x
        for op in self._ops:
            out = op(out, self._fires(len(x), rng), rng)
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def _fires(self, n: int, rng: _Random) -> torch.Tensor:
        """bool [N]: which samples this op applies to (all of them when p = 1, no draw)."""
        if self._p >= 1.0:
            return torch.ones(n, dtype=torch.bool, device=rng.device)
        return rng.uniform(n) < self._p

    def __repr__(self) -> str:
        p = "" if self._p == 1.0 else f", p={self._p:.3g}"
        pad = "" if self.pad == "zero" else f", pad={self.pad}"
        return f"DiffAugment({', '.join(self.policy)}{p}{pad})"
