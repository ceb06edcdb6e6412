"""ImageDataset: the one torch Dataset every source becomes, preloaded uint8 or lazily decoded."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import torch
from torch.utils.data import Dataset

from pixelforge.core.images import to_float
from pixelforge.data.decode import failure_reason
from pixelforge.errors import UserError

log = logging.getLogger("pixelforge.data")

# How many neighbouring indices a lazy dataset tries before giving up on an item.
_MAX_SUBSTITUTES = 64


class LazyImages(Protocol):
    """Per-item decoder for sources too large to preload."""

    def __len__(self) -> int: ...

    def load(self, index: int) -> torch.Tensor:
        """uint8 [C, S, S] at the target size; may raise if the item cannot be decoded."""
        ...

    def name(self, index: int) -> str:
        """Where item `index` comes from (a path), for skip reports."""
        ...


class ImageDataset(Dataset):
    """`ds[i]` is `(image, label)`: float32 [C, H, W] in [-1, 1] and an int (-1 when unlabeled).

    Every source yields exactly `image_size` x `image_size` with `channels` (1 or 3) channels:
    gray is repeated to RGB, RGB becomes luma, and alpha is composited onto white (not dropped).

    In-memory sources hold all images as uint8 at the target size (`tensors()` returns them);
    larger sources decode per item (`tensors()` returns None). A lazy item that fails to decode
    is replaced by the next decodable index and recorded in `skipped`, so an epoch never stops
    on one bad file (with DataLoader workers the record stays in the worker process).
    """

    def __init__(
        self,
        *,
        labels: torch.Tensor,
        num_classes: int,
        description: str,
        fingerprint: str,
        image_size: int,
        channels: int,
        images: torch.Tensor | None = None,
        lazy: LazyImages | None = None,
        class_names: Sequence[str] = (),
        skipped: Sequence[tuple[str, str]] = (),
    ) -> None:
        if (images is None) == (lazy is None):
            raise ValueError("ImageDataset needs exactly one of images= or lazy=")
        count = len(images) if images is not None else len(lazy)
        if labels.shape != (count,):
            raise ValueError(f"labels shape {tuple(labels.shape)} does not match {count} images")
        self._images = images
        self._lazy = lazy
        self._labels = labels.to(torch.int64)
        self._bad: set[int] = set()
        self.num_classes = int(num_classes)
        self.class_names = list(class_names)
        self.description = description
        self.fingerprint = fingerprint
        self.image_size = image_size
        self.channels = channels
        self.skipped: list[tuple[str, str]] = list(skipped)

    @property
    def has_labels(self) -> bool:
        return self.num_classes > 0

    @property
    def labels(self) -> torch.Tensor:
        """int64 [N] labels, -1 everywhere when the source has none."""
        return self._labels

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(uint8 [N, C, H, W], int64 [N]) for preloaded sources, else None. Do not modify."""
        if self._images is None:
            return None
        return self._images, self._labels

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        i = self._check_index(index)
        if self._images is not None:
            return to_float(self._images[i]), int(self._labels[i])
        return self._lazy_item(i)

    def __repr__(self) -> str:
        return f"ImageDataset({self.description})"

    def _check_index(self, index: int) -> int:
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {index} out of range for {n} images")
        return i

    def _lazy_item(self, i: int) -> tuple[torch.Tensor, int]:
        n = len(self)
        for step in range(min(n, _MAX_SUBSTITUTES)):
            j = (i + step) % n
            if j in self._bad:
                continue
            try:
                image = self._lazy.load(j)
            except UserError:  # a source that stops on damage (shards) says so in one line
                raise
            except Exception as exc:  # one bad file must not end an epoch
                self._record_failure(j, exc)
                continue
            return to_float(image), int(self._labels[j])
        raise RuntimeError(
            f"{self.description}: {min(n, _MAX_SUBSTITUTES)} images from index {i} on could "
            f"not be decoded; first skipped: {self.skipped[0] if self.skipped else '?'}"
        )

    def _record_failure(self, index: int, exc: Exception) -> None:
        self._bad.add(index)
        entry = (self._lazy.name(index), failure_reason(exc))
        self.skipped.append(entry)
        if len(self._bad) == 1:
            log.warning(
                "could not decode %s (%s); substituting other images (further failures are "
                "only counted in .skipped)",
                *entry,
            )
