"""Optimizer helpers: state loaded from a checkpoint gets the memory layout of its parameter."""

from __future__ import annotations

import torch


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
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)
