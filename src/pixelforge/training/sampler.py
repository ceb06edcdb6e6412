"""Step-addressable shuffling: the batch for step s is a pure function of (seed, s, rank)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def step_generator(seed: int, step: int, rank: int = 0, stream: int = 0) -> torch.Generator:
    """A torch RNG seeded from (seed, step, rank, stream), so resuming at any step is exact."""
    state = np.random.SeedSequence([seed, step, rank, stream]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


class StepBatchSampler:
    """Yields index batches; epoch e is a fresh permutation, each rank takes its own slice."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0,
                 rank: int = 0, world: int = 1) -> None:
        if n < batch_size * world:
            raise ValueError(f"{n} images are fewer than one global batch of {batch_size * world}")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world, self.step = rank, world, start_step
        self.batches_per_epoch = n // (batch_size * world)
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        epoch, b = divmod(step, self.batches_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.n, generator=g)
        start = (b * self.world + self.rank) * self.batch_size
        return self._perm[start:start + self.batch_size]

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            yield self.indices(self.step).tolist()
            self.step += 1

    def __len__(self) -> int:  # DataLoader asks; the stream is endless
        return 2**62


def global_randn(rows: int, *shape: int, seed: int, step: int, rank: int, world: int,
                 stream: int) -> torch.Tensor:
    """This rank's `rows` of one normal draw for the whole global batch ([world * rows, *shape]
    from the rank-0 stream), so N processes with batch B draw the same noise as one process with
    batch N * B; with one process it is exactly randn(rows, *shape) from step_generator."""
    g = step_generator(seed, step, 0, stream)
    return torch.randn(world * rows, *shape, generator=g)[rank * rows:(rank + 1) * rows]
