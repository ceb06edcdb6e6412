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
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.core.images import LUMA, to_gray  # noqa: F401  (re-exported)
from pixelforge.core.precision import Precision
from pixelforge.errors import UserError
from pixelforge.pipelines.base import Pipeline, register_pipeline
from pixelforge.pipelines.tiled import tiled_apply

DIRECTIONS = ("a2b", "b2a")
DEFAULT_TILE_PAD = 32
# BT.601 luma, as Pillow's RGB -> "L" conversion: grayscale inputs of 1-channel generators


def component_of(direction: str) -> str:
    """'a2b' -> 'generator_ab'."""
    if direction not in DIRECTIONS:
        raise UserError(f"--direction {direction!r}: choose a2b or b2a")
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

    def translate(self, x: torch.Tensor, *, direction: str | None = None, tile: int = 0,
                  tile_pad: int = DEFAULT_TILE_PAD, precision: str = "auto",
                  noise: bool = False, seed: int | None = 0,
                  batch_size: int = 8) -> torch.Tensor:
        """x [N, C, H, W] in [-1, 1] (C = 1 or 3, any H and W) -> [N, C', H, W] in [-1, 1].

        C' is the generator's output channels; gray and RGB inputs are matched to its input.
        noise=True keeps dropout active (pix2pix's test-time noise), seeded by `seed`."""
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise UserError(f"translate takes [N, 1 or 3, H, W] images, got {tuple(x.shape)}")
        net = self.generator(direction)
        stride = int(getattr(net, "stride", 1))
        min_size = int(getattr(net, "min_size", stride))
        x = match_channels(x.float(), int(net.in_channels))
        device = next(net.parameters()).device
        prec = Precision.resolve(precision, "auto", device)
        net.eval()
        if prec.channels_last:
            net.to(memory_format=torch.channels_last)

        def call(t: torch.Tensor) -> torch.Tensor:  # any [n, C, h, w] -> [n, C', h, w]
            padded, (y0, y1, x0, x1) = pad_to_multiple(t, stride, min_size)
            padded = padded.to(device, memory_format=prec.memory_format)
            with prec.autocast(device):
                out = net(padded)
            return out.float()[..., y0:y1, x0:x1]

        outs = []
        noisy = dropout_noise(net, seed) if noise else contextlib.nullcontext()
        with torch.no_grad(), noisy:
            for i in range(0, len(x), batch_size):
                outs.append(tiled_apply(call, x[i:i + batch_size], tile=tile, pad=tile_pad,
                                        out_channels=int(net.out_channels)))
        return torch.cat(outs).clamp_(-1, 1)

    __call__ = translate


def translate_files(pipe: TranslatePipeline, items: list[str], out_dir: str | Path, *,
                    direction: str | None = None, fmt: str | None = None, overwrite: bool = False,
                    **options) -> list[Path]:
    """Translate image files (files, folders, globs) into out_dir, one file per input.

    Each output keeps its input's size, alpha channel (passed through unchanged) and bit depth
    (16-bit PNG/TIFF stay 16-bit); it is gray when the generator outputs one channel, else RGB.
    Every output path is checked before any work starts."""
    from pixelforge.pipelines.restore_io import (
        collect_inputs,
        plan_outputs,
        read_image,
        write_result,
    )

    net = pipe.generator(direction)  # fail on a bad direction before reading any file
    gray_out = int(net.out_channels) == 1
    inputs = collect_inputs(items)
    outs = plan_outputs(inputs, out_dir, fmt, overwrite=overwrite)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    done = []
    for src, dst in zip(inputs, outs, strict=True):
        img = read_image(src)
        y = pipe.translate(img.rgb, direction=direction, **options)  # [1, C', H, W]
        done.append(write_result(dst, y, img.alpha, gray=gray_out, bits=img.bits))
    return done
