"""Thread policy of the metrics: one intra-op torch thread for the extractor and the statistics."""

# Why one: the weights and features then do not depend on the machine's core count (one cache
# hash, one set of numbers), and these small convolutions and 256-d linear algebra gain little
# from a second thread while losing up to 8-10x when the cores are shared (OpenMP spin-waits
# under oversubscription; measured on the 2-core dev machine: MNIST 12k extractor 98 s vs 11 s).

from __future__ import annotations

import contextlib

import torch

METRIC_THREADS = 1


@contextlib.contextmanager
def torch_threads(n: int = METRIC_THREADS):
    """Run the block with `n` intra-op threads, restoring the previous count afterwards."""
    previous = torch.get_num_threads()
    if n != previous:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
