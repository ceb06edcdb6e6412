"""Batch streams for the trainer: direct tensor indexing for in-memory data, a DataLoader
otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader

from pixelforge.training.sampler import StepBatchSampler


def batch_stream(dataset, batch_size: int, seed: int, start_step: int, rank: int, world: int,
                 num_workers: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (images in [-1, 1] [N, C, H, W], labels [N]) batches, exactly resumable by step."""
    sampler = StepBatchSampler(len(dataset), batch_size, seed, start_step, rank, world)
    pre = dataset.tensors()
    if pre is not None:
        images, labels = pre  # uint8 [N, C, H, W], int64 [N]

        def gen():
            for idx in sampler:
                idx_t = torch.as_tensor(idx)
                yield images[idx_t].float().div_(127.5).sub_(1.0), labels[idx_t]

        return gen()
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                        persistent_workers=num_workers > 0)
    return iter(loader)
