"""Image plumbing for the metrics: seeded subsets, uint8 batches, the extractor's input size."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

from pixelforge.core.images import to_float, to_uint8

# The cnn extractor sees images at most this large (bigger ones are downsampled with an
# antialiased bilinear filter, the same for real and generated images): it keeps the
# extractor fast on 2 CPU cores and is recorded in every score's protocol.
MAX_EXTRACTOR_RESOLUTION = 32


def extractor_resolution(image_size: int) -> int:
    return min(int(image_size), MAX_EXTRACTOR_RESOLUTION)


def to_extractor_input(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """float [N, C, H, W] in [-1, 1] -> float32 [N, C, r, r] (antialiased bilinear resize)."""
    x = images.float()
    if x.shape[-2:] != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True,
                          align_corners=False)
    return x


def sample_indices(total: int, n: int | None, seed: int) -> torch.Tensor:
    """All indices when n is None or >= total, else a seeded random n of them, sorted."""
    if n is None or n >= total:
        return torch.arange(total)
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(total, generator=g)[:n].sort().values


def gather_uint8(dataset, indices: Sequence[int] | torch.Tensor,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 [n, C, H, W], int64 labels [n]) for `indices` of an ImageDataset-like object."""
    idx = torch.as_tensor(indices, dtype=torch.int64)
    held = dataset.tensors() if hasattr(dataset, "tensors") else None
    if held is not None:
        images, labels = held
        return images[idx], labels[idx]
    items = [dataset[int(i)] for i in idx]
    if not items:
        raise ValueError("no images selected")
    images = torch.stack([to_uint8(img) for img, _ in items])
    labels = torch.tensor([int(lab) for _, lab in items], dtype=torch.int64)
    return images, labels


def float_batches(dataset, indices: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """float [b, C, H, W] batches in [-1, 1] of the images at `indices`, in order."""
    for i in range(0, len(indices), batch_size):
        images, _ = gather_uint8(dataset, indices[i : i + batch_size])
        yield to_float(images)


def tensor_batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for i in range(0, len(images), batch_size):
        yield images[i : i + batch_size]
