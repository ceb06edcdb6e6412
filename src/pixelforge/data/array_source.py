"""Turn an in-memory uint8 NHWC image array (npz, torchvision tensors) into an ImageDataset."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pixelforge.data.dataset import ImageDataset
from pixelforge.data.fingerprint import make_fingerprint
from pixelforge.data.options import LoadOptions
from pixelforge.data.pixels import prepare_array, prepare_batch


class LazyArray:
    """Resizes one array row per request, for arrays whose resized copy would not fit in memory."""

    def __init__(self, array: np.ndarray, opts: LoadOptions, source: str) -> None:
        self._array, self._opts, self._source = array, opts, source

    def __len__(self) -> int:
        return len(self._array)

    def load(self, index: int) -> torch.Tensor:
        return prepare_batch(self._array[index : index + 1], self._opts)[0].contiguous()

    def name(self, index: int) -> str:
        return f"{self._source}[{index}]"


def dataset_from_array(
    array: np.ndarray,
    labels: np.ndarray | None,
    opts: LoadOptions,
    *,
    num_classes: int,
    source: str,
    identity: dict[str, object],
    class_names: Sequence[str] = (),
) -> ImageDataset:
    """`array` is uint8 (N, H, W, C) with C in 1-4; `labels` int (N,) or None. Applies `limit`."""
    n = opts.take(len(array))
    array = array[:n]
    _, h, w, c = array.shape
    if labels is None:
        label_tensor = torch.full((n,), -1, dtype=torch.int64)
        num_classes, class_names = 0, ()
    else:
        label_tensor = torch.from_numpy(np.asarray(labels[:n], dtype=np.int64))
    preload = opts.fits_in_memory(n)
    description = f"{source} {n} images {h}x{w}x{c} -> {opts.target} ({opts.resize_filter})" + (
        "" if preload else ", decoded lazily"
    )
    common = dict(
        labels=label_tensor,
        num_classes=num_classes,
        class_names=class_names,
        description=description,
        fingerprint=make_fingerprint(identity, opts),
        image_size=opts.image_size,
        channels=opts.channels,
    )
    if preload:
        return ImageDataset(images=prepare_array(array, opts), **common)
    return ImageDataset(lazy=LazyArray(array, opts, source), **common)
