"""Batch streams for the trainer: dicts of named tensors, in the order the step-addressed sampler
gives (direct tensor indexing for in-memory data, a DataLoader otherwise)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader

from pixelforge.core.images import to_float
from pixelforge.errors import UserError
from pixelforge.training.sampler import StepBatchSampler


def part_seed(seed: int, part: int) -> int:
    """An independent sampler seed for part `part` of a multi-part (unpaired) dataset."""
    return int(np.random.SeedSequence([seed, part]).generate_state(1)[0]) & 0x7FFFFFFF


def batch_stream(dataset, batch_size: int, seed: int, start_step: int, rank: int, world: int,
                 num_workers: int = 0) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches {name: [N, ...]} (images float in [-1, 1]), exactly resumable by step.

    A dataset with `parts` (unpaired sets) gets one sampler per part, each with its own seed, and
    the batches of the parts are merged into one dict."""
    parts = getattr(dataset, "parts", None)
    if parts is not None and not hasattr(dataset, "__getitem__"):
        streams = [batch_stream(p, batch_size, part_seed(seed, i), start_step, rank, world,
                                num_workers) for i, p in enumerate(parts.values())]

        def merged():
            while True:
                out: dict[str, torch.Tensor] = {}
                for s in streams:
                    out.update(next(s))
                yield out

        return merged()
    sampler = StepBatchSampler(len(dataset), batch_size, seed, start_step, rank, world)
    pre = dataset.tensors()
    if pre is not None:
        if isinstance(pre, tuple):  # a bare ImageDataset: (uint8 images, labels)
            pre = {"image": pre[0], "label": pre[1]}

        def gen():
            for idx in sampler:
                idx_t = torch.as_tensor(idx)
                yield {k: to_float(v[idx_t]) if v.dtype == torch.uint8 else v[idx_t]
                       for k, v in pre.items()}

        return gen()
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                        persistent_workers=num_workers > 0)
    batches = _user_errors(iter(loader))
    if parts is None and not isinstance(dataset[0], dict):  # a bare ImageDataset
        return ({"image": x, "label": y} for x, y in batches)
    return batches


def _user_errors(batches: Iterator) -> Iterator:
    """The batches; a UserError raised in a DataLoader worker (e.g. a damaged shard) arrives
    wrapped in the worker's traceback text, and is raised again as its own one line."""
    try:
        yield from batches
    except UserError as exc:
        last = str(exc).strip().splitlines()[-1]
        raise UserError(last.split("UserError: ", 1)[-1]) from None
