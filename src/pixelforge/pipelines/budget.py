"""Tile sizes from a memory budget: image-to-image pipelines tile a picture only when running it
whole would push the process over `max_memory` (default 1.5 GiB, or PIXELFORGE_MAX_MEMORY).

A network's activation memory per input pixel is measured once per network and precision by a
probe: one forward pass on a small picture while a dispatch mode counts the bytes of the tensors
alive at each moment (float32/bf16 as run, views counted once). Budget for activations = the
limit - the process's resident memory now (Python, torch, the weights, the decoded picture) - the
whole-picture buffers still to come (the output and its encoding); the tile side is the largest
whose padded tile fits that budget with a 1.5x margin for the kernels' scratch space. The
inpainter cannot be tiled; a crop that would not fit is filled at a lower resolution instead
(fit_scale).
"""

from __future__ import annotations

import logging
import math
import os
import weakref
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from pixelforge.errors import UserError

log = logging.getLogger("pixelforge.budget")

DEFAULT_MAX_MEMORY = int(1.5 * 2**30)
MEMORY_ENV = "PIXELFORGE_MAX_MEMORY"
SAFETY = 1.5  # margin over the probed activations (oneDNN scratch buffers, allocator slack)
MIN_TILE = 64
PROBE = 128  # probe picture side in px
MIN_FILL_SIDE = 256  # the smallest side an inpainting crop is shrunk to (fit_scale)
# per output pixel, still to come after the tiling decision: the float32 RGB result (12), its
# uint8 copy and Pillow's (6), the encoded file and its buffer copies, allocator slack
# (measured through the CLI, benchmarks/cli_memory.py: 32 held a 12 MP denoise, but x2 and x4
# upscales to 12 MP overshot a 1.5 GiB budget by 6%, ~8 bytes per output pixel more)
OUTPUT_BYTES_PER_PX = 40
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30,
          "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_memory(value: float | int | str, field: str = "max_memory") -> int:
    """1.5e9, '1.5G', '800M', '1536MiB' -> bytes (binary units); UserError naming `field` otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, unit = float(value), ""
    else:
        text = str(value).strip().lower().replace(" ", "")
        digits = text.rstrip("bgikm")
        number, unit = digits, text[len(digits):]
        try:
            number = float(number)
        except ValueError:
            number = float("nan")
    if unit not in _UNITS or not math.isfinite(number) or number <= 0:
        raise UserError(f"{field}={value!r}: give a size such as 1.5G, 800M or a number of bytes",
                        field=field)
    size = int(number * _UNITS[unit])
    if size < 64 * 2**20:
        raise UserError(f"{field}={value!r}: at least 64M is needed", field=field)
    return size


def max_memory_bytes(value: float | int | str | None = None) -> int:
    """The budget: `value`, else $PIXELFORGE_MAX_MEMORY, else 1.5 GiB."""
    if value is not None:
        return parse_memory(value)
    env = os.environ.get(MEMORY_ENV, "").strip()
    return parse_memory(env, MEMORY_ENV) if env else DEFAULT_MAX_MEMORY


def resident_bytes() -> int:
    """This process's resident memory now (Linux /proc; elsewhere a 600 MiB guess)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 600 * 2**20


class _LiveBytes(TorchDispatchMode):
    """Counts the bytes of tensors made inside it that are still referenced; keeps the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self.refs: dict[int, list[int]] = {}  # storage address -> [tensor count, bytes]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self._track(t)
        return out

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key, size = storage.data_ptr(), storage.nbytes()
        if not size:
            return
        if key in self.refs:
            self.refs[key][0] += 1
        else:
            self.refs[key] = [1, size]
            self.live += size
            self.peak = max(self.peak, self.live)
        weakref.finalize(t, self._release, key)

    def _release(self, key: int) -> None:
        entry = self.refs.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] <= 0:
            self.live -= entry[1]
            del self.refs[key]


def probe_bytes_per_pixel(call: Callable[[torch.Tensor], torch.Tensor], channels: int = 3,
                          size: int = PROBE) -> float:
    """Peak activation bytes per input pixel of `call` on a [1, channels, size, size] picture
    (the RNG is forked, so a seeded caller draws the same numbers with or without the probe)."""
    x = torch.zeros(1, channels, size, size)
    counter = _LiveBytes()
    with torch.random.fork_rng(devices=[]), torch.no_grad(), counter:
        y = call(x)
    del y
    return counter.peak / (size * size)


def cached_bytes_per_pixel(owner: object, key: str, call: Callable[[torch.Tensor], torch.Tensor],
                           channels: int = 3, size: int = PROBE) -> float:
    """probe_bytes_per_pixel, measured once per (owner, key) and kept on the owner."""
    cache = owner.__dict__.setdefault("_bytes_per_px", {})
    if key not in cache:
        cache[key] = probe_bytes_per_pixel(call, channels, size)
    return cache[key]


def fit_scale(height: int, width: int, *, bytes_per_px: float, out_pixels: int,
              max_memory: float | int | str | None = None) -> float:
    """1.0 when a network that cannot be tiled (the inpainter: a fill needs the whole hole) fits
    the budget on a height x width input, else the linear downscale (< 1) at which it does."""
    limit = max_memory_bytes(max_memory)
    room = limit - resident_bytes() - out_pixels * OUTPUT_BYTES_PER_PX
    need = height * width * bytes_per_px * SAFETY
    factor = 1.0 if need <= room else math.sqrt(max(room, 0) / need)
    # the floor wins over the budget, as MIN_TILE does for tiles: a fill never runs on fewer
    # than MIN_FILL_SIDE px across (nor is a smaller crop ever shrunk)
    factor = max(factor, min(1.0, MIN_FILL_SIDE / max(1, min(height, width))))
    log.debug("memory budget %.0f MiB: %dx%d needs %.0f MiB for activations, room %.0f MiB -> "
              "scale %.3f", limit / 2**20, width, height, need / 2**20, room / 2**20, factor)
    return factor


def choose_tile(height: int, width: int, *, bytes_per_px: float, scale: int = 1, pad: int = 16,
                max_memory: float | int | str | None = None, multiple: int = 8) -> int:
    """0 (the whole picture at once) when it fits the budget, else the largest tile side that does.

    The tile is a multiple of `multiple` and at least MIN_TILE px (the floor wins over the budget:
    a picture never fails for want of memory here)."""
    limit = max_memory_bytes(max_memory)
    outputs = height * width * scale * scale * OUTPUT_BYTES_PER_PX
    resident = resident_bytes()
    room = limit - resident - outputs
    need = height * width * bytes_per_px * SAFETY
    tile = 0
    if need > room:
        side = math.isqrt(int(max(room, 0) / (bytes_per_px * SAFETY))) - 2 * pad
        tile = max(MIN_TILE, side // multiple * multiple)
    log.debug("memory budget %.0f MiB: resident %.0f MiB, outputs %.0f MiB, activations %.0f "
              "B/px -> tile %s", limit / 2**20, resident / 2**20, outputs / 2**20, bytes_per_px,
              tile or "off (whole picture)")
    return tile
