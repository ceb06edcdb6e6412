"""Image translation inference (pix2pix, CycleGAN): any image size, either direction, tiled.

Images are [N, C, H, W] in [-1, 1]. Sides that are not multiples of the generator's stride are
padded by reflection (half on each side) and cropped back, so any size and aspect ratio works;
`tile` > 0 runs large images in tiles of that many pixels with `tile_pad` pixels of context
(pipelines/tiled.py). Translation generators see far (a U-Net's bottleneck covers the whole
padded image; CycleGAN's InstanceNorm uses each tile's own statistics), so a tiled result
approximates the whole-image one: use tiles only when the image does not fit in memory.

A checkpoint holds `generator_ab` and/or `generator_ba` (CycleGAN: both; pix2pix: the one it was
trained for; a bare `generator` is accepted too); `direction` "a2b" or "b2a" picks one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.core.images import LUMA, to_gray  # noqa: F401  (re-exported)
from pixelforge.errors import UserError
from pixelforge.pipelines.base import Pipeline, register_pipeline
from pixelforge.pipelines.budget import cached_bytes_per_pixel, choose_tile
from pixelforge.pipelines.sampling import inference
from pixelforge.pipelines.tiled import tiled_apply

DIRECTIONS = ("a2b", "b2a")
DEFAULT_TILE_PAD = 32
# BT.601 luma, as Pillow's RGB -> "L" conversion: grayscale inputs of 1-channel generators


def component_of(direction: str) -> str:
    """'a2b' -> 'generator_ab'."""
    if direction not in DIRECTIONS:
        raise UserError(f"direction={direction!r}: choose a2b or b2a", field="direction")
    return f"generator_{direction[0]}{direction[2]}"


def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Gray <-> RGB so x has the generator's input channels (gray repeated, RGB to luma)."""
    if x.shape[1] == channels:
        return x
    if channels == 1:
        return to_gray(x)
    if x.shape[1] == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1)
    raise UserError(f"the generator takes {channels}-channel images, got {x.shape[1]} channels")


def reflect_pad(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Reflection padding of any amount (repeated while the pad exceeds the side; a side of one
    pixel is replicated)."""
    while top or bottom or left or right:
        h, w = x.shape[-2:]
        if h == 1 or w == 1:
            return F.pad(x, (left, right, top, bottom), mode="replicate")
        t, b, le, r = min(top, h - 1), min(bottom, h - 1), min(left, w - 1), min(right, w - 1)
        x = F.pad(x, (le, r, t, b), mode="reflect")
        top, bottom, left, right = top - t, bottom - b, left - le, right - r
    return x


def pad_to_multiple(x: torch.Tensor, multiple: int, min_size: int = 1,
                    ) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Pad H and W up to multiples of `multiple`, at least `min_size` (reflect, split evenly);
    returns the crop box (y0, y1, x0, x1) of the original pixels in the padded image."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    ph += max(0, -(-(min_size - h - ph) // multiple) * multiple)  # whole strides up to min_size
    pw += max(0, -(-(min_size - w - pw) // multiple) * multiple)
    top, left = ph // 2, pw // 2
    return reflect_pad(x, top, ph - top, left, pw - left), (top, top + h, left, left + w)


@contextlib.contextmanager
def dropout_noise(net: nn.Module, seed: int | None) -> Iterator[None]:
    """pix2pix's noise at inference: dropout layers active (seeded), every norm in eval mode."""
    drops = [m for m in net.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    device = next(net.parameters()).device
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # the caller's RNG streams are left untouched
        if seed is not None:
            torch.manual_seed(int(seed))
        for m in drops:
            m.train()
        try:
            yield
        finally:
            for m in drops:
                m.eval()


@register_pipeline("translate")
class TranslatePipeline(Pipeline):
    """One or two translation generators: `translate(x, direction=...)` maps A -> B or B -> A."""

    main_component = "generator"

    @property
    def model(self) -> nn.Module:
        """The main network: the only generator, or generator_ab when there are two."""
        if "generator" in self.components:
            return self.components["generator"]
        return self.generator(self.directions[0]) if self.directions else super().model

    @property
    def directions(self) -> list[str]:
        """The directions this checkpoint can translate in ('a2b', 'b2a')."""
        return [d for d in DIRECTIONS if component_of(d) in self.components]

    def generator(self, direction: str | None = None) -> nn.Module:
        """The generator for `direction`; None: the only one there is."""
        if direction is not None:
            name = component_of(direction)
            if name in self.components:
                return self.components[name]
            if "generator" in self.components:  # a bare pix2pix generator: its one direction
                return self.components["generator"]
            raise UserError(f"this checkpoint translates {' and '.join(self.directions)} only, "
                            f"not {direction}")
        if len(self.directions) == 1:
            return self.components[component_of(self.directions[0])]
        if "generator" in self.components:
            return self.components["generator"]
        raise UserError("this checkpoint translates both ways: pass direction a2b or b2a")

    def translate(self, x: torch.Tensor, *, direction: str | None = None,
                  tile: int | None = None, tile_pad: int = DEFAULT_TILE_PAD,
                  precision: str = "auto", noise: bool = False, seed: int | None = 0,
                  batch_size: int = 8, max_memory: float | int | str | None = None,
                  ) -> torch.Tensor:
        """x [N, C, H, W] in [-1, 1] (C = 1 or 3, any H and W) -> [N, C', H, W] in [-1, 1].

        C' is the generator's output channels; gray and RGB inputs are matched to its input.
        noise=True keeps dropout active (pix2pix's test-time noise), seeded by `seed`. tile None:
        the whole picture unless it would not fit `max_memory` (pipelines/budget.py; tiles then
        approximate the whole-picture result, with a warning); 0: always whole."""
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise UserError(f"translate takes [N, 1 or 3, H, W] images, got {tuple(x.shape)}")
        net = self.generator(direction)
        stride = int(getattr(net, "stride", 1))
        min_size = int(getattr(net, "min_size", stride))
        x = match_channels(x.float(), int(net.in_channels))

        def call(t: torch.Tensor) -> torch.Tensor:  # any [n, C, h, w] -> [n, C', h, w]
            padded, (y0, y1, x0, x1) = pad_to_multiple(t, stride, min_size)
            padded = padded.to(device, memory_format=prec.memory_format)
            with prec.autocast(device):
                out = net(padded)
            return out.float()[..., y0:y1, x0:x1]

        outs = []
        with inference(net, precision) as (device, prec), \
                (dropout_noise(net, seed) if noise else contextlib.nullcontext()):
            if tile is None:
                tile = self._auto_tile(call, x[:batch_size], direction, tile_pad, precision,
                                       max_memory)
            for i in range(0, len(x), batch_size):
                outs.append(tiled_apply(call, x[i:i + batch_size], tile=tile, pad=tile_pad,
                                        out_channels=int(net.out_channels)))
        return torch.cat(outs).clamp_(-1, 1)

    def _auto_tile(self, call, x: torch.Tensor, direction: str | None, pad: int, precision: str,
                   max_memory: float | int | str | None) -> int:
        """0 when x fits the memory budget, else a tile that does (and a warning: tiles differ)."""
        per_px = cached_bytes_per_pixel(self, f"{direction}:{precision}", call, x.shape[1])
        h, w = x.shape[-2:]
        tile = choose_tile(h, w, bytes_per_px=per_px * x.shape[0], pad=pad, max_memory=max_memory)
        if tile and (h > tile or w > tile):
            logging.getLogger("pixelforge").warning(
                "translate: a %dx%d picture does not fit the memory budget whole; running it in "
                "%d px tiles, which approximate the whole-picture result (a larger memory "
                "budget, or tile 0, avoids it)", w, h, tile)
        return tile

    __call__ = translate

