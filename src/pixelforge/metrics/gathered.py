"""Feature statistics over several processes: each rank extracts features of its share of the
images, `gather` (accelerate's `Accelerator.gather_for_metrics`, handed in by the caller so this
layer never imports accelerate) joins them, and the FD is that of the whole set."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from pixelforge.metrics.frechet import feature_stats, frechet_distance

Gather = Callable[[torch.Tensor], torch.Tensor]


def gathered_stats(local: torch.Tensor, gather: Gather | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of the features of every rank ([n_r, D] here); one process: no gather."""
    feats = gather(local.contiguous()) if gather is not None else local  # [sum n_r, D]
    return feature_stats(feats.detach().to("cpu", torch.float64).numpy())


def gathered_frechet(local_a: torch.Tensor, local_b: torch.Tensor,
                     gather: Gather | None = None) -> float:
    """FD between two feature sets spread over the ranks, equal to the 1-process FD on the
    same rows (the statistics are order-free sums; float64)."""
    return frechet_distance(*gathered_stats(local_a, gather), *gathered_stats(local_b, gather))
