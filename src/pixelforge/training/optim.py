"""Optimizer helpers: the one Adam constructor, and restored state in its parameter's layout."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def adam(params: Iterable[torch.Tensor], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused kernel (one kernel per step on CPU and CUDA), foreach where the build
    has no fused Adam for the device."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def align_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter state tensor (exp_avg, ...) the strides of its parameter.

    Checkpoints store tensors contiguous (NCHW); for channels_last parameters a fused optimizer
    kernel walks parameter and state memory in lockstep, so mismatched strides would silently
    pair the wrong elements and break exact resume.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if not state:
                continue
            for key, value in state.items():
                if (isinstance(value, torch.Tensor) and value.shape == p.shape
                        and value.stride() != p.stride()):
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)
