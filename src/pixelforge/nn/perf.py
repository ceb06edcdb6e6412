"""Performance settings for the CPU fast paths: one object (`PERF`) instead of module globals."""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass, field

import torch


def _gemm_max_area() -> dict[torch.dtype, int]:
    return {torch.bfloat16: 16, torch.float32: 16}


def _gemm_wgrad_max_area() -> dict[torch.dtype, int]:
    return {torch.bfloat16: 64, torch.float32: 16}


@dataclass
class PerfSettings:
    """Switches for the speed-only code paths; none of them changes what a model computes.

    gemm_paths: run small-map 4x4 stride-2 and kernel-sized (transposed) convolutions as matrix
    products on CPU (pixelforge.nn.gemm). gemm_max_area / gemm_wgrad_max_area: per compute dtype,
    the small-side pixel count up to which the whole layer / at least its weight gradient takes
    that route (measured on 2 AMX cores, docs/benchmarks.md). Whether the allocator is tuned is
    not a switch here: the CLI's --tune-allocator and train(tune_allocator=...) say it.
    """

    gemm_paths: bool = True
    gemm_max_area: dict[torch.dtype, int] = field(default_factory=_gemm_max_area)
    gemm_wgrad_max_area: dict[torch.dtype, int] = field(default_factory=_gemm_wgrad_max_area)

    def reset(self) -> None:
        """Back to the measured defaults (for tests and A/B benchmarks)."""
        fresh = PerfSettings()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


PERF = PerfSettings()

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameter numbers (glibc malloc.h)
_allocator_tuned = False


def tune_cpu_allocator() -> bool:
    """Keep freed memory in the process instead of returning it to the OS (glibc only).

    A training or sampling step frees and re-allocates the same large activation buffers every
    step; by default glibc serves big blocks with fresh mmap()s (or trims the heap) and every
    re-allocation page-faults its memory back in: 4-30k faults per step here. Disabling mmap'd
    blocks and heap trimming makes the steady state fault-free: +3-6% dcgan training and +15-40%
    batch-256 generation on 2 cores (docs/benchmarks.md). The price is that the process keeps its
    peak heap. Process-wide and irreversible; returns True when applied (now or earlier)."""
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
    _allocator_tuned = ok
    return ok
