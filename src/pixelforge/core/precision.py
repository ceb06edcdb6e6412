"""Numeric format choices: bf16 autocast and channels_last where the hardware pays for them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from pixelforge.errors import UserError

PRECISIONS = ("auto", "fp32", "bf16")


def check_precision(precision: str) -> str:
    """`precision` if it is one of PRECISIONS, else a UserError naming the allowed values."""
    if precision not in PRECISIONS:
        raise UserError(f"precision={precision!r}: choose auto, fp32 or bf16",
                        field="precision")
    return precision


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with AMX tiles or AVX-512 BF16, where bf16 convs/matmuls beat fp32 severalfold.
    """
    try:
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except AttributeError:
        return False


@dataclass(frozen=True)
class Precision:
    """Whether to run under bf16 autocast and in channels_last memory layout."""

    bf16: bool
    channels_last: bool

    @classmethod
    def resolve(cls, precision: str, channels_last: str, device: torch.device) -> Precision:
        """'auto' picks bf16 on AMX/AVX512-BF16 CPUs and bf16-capable GPUs; channels_last 'auto'
        is on for every CPU run (it also speeds up fp32 training, and the models' GEMM fast
        paths need it) and follows bf16 on GPUs. See docs/benchmarks.md for the measurements."""
        if device.type == "cuda":
            fast = torch.cuda.is_bf16_supported()
        else:
            fast = cpu_has_fast_bf16()
        bf16 = fast if precision == "auto" else precision == "bf16"
        if channels_last == "auto":
            cl = True if device.type == "cpu" else bf16
        else:
            cl = channels_last == "on"
        return cls(bf16=bf16, channels_last=cl)

    def autocast(self, device: torch.device):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def describe(self) -> str:
        fmt = "channels_last" if self.channels_last else "NCHW"
        return f"{'bf16 autocast' if self.bf16 else 'fp32'}, {fmt}"
