"""Find the real train split (for the extractor) and a distinct held-out split (for the floor)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import torch

from pixelforge.errors import UserError

log = logging.getLogger("pixelforge.metrics")

SPLITS = ("train", "test")
_FILTER_IN_DESCRIPTION = re.compile(r"\((bicubic|bilinear|lanczos|nearest)\)")


@dataclass(frozen=True)
class RealSplits:
    """`train` trains the extractor; `heldout` is a distinct split for its accuracy (or None);
    `other` is the split `real` is not, for the real-vs-real floor (None when unknown/absent)."""

    train: object
    heldout: object | None
    other: object | None
    real_split: str | None
    other_split: str | None
    resize_filter: str | None


def guess_resize_filter(real) -> str | None:
    """The filter named in an ImageDataset's description, e.g. '... (bicubic)'."""
    explicit = getattr(real, "resize_filter", None)
    if explicit:
        return str(explicit)
    found = _FILTER_IN_DESCRIPTION.findall(getattr(real, "description", "") or "")
    return found[-1] if found else None


def same_images(a, b) -> bool:
    """True when two data sets hold the same images (e.g. an .npz whose only array is `x`)."""
    if len(a) != len(b):
        return False
    for i in sorted({0, len(a) // 2, len(a) - 1}):
        if not torch.equal(a[i][0], b[i][0]):
            return False
    return True


def _load(spec: str, real, split: str, resize_filter: str):
    from pixelforge.data import load_images

    try:
        return load_images(spec, image_size=real.image_size, channels=real.channels, split=split,
                           resize_filter=resize_filter, download=False)
    except UserError as exc:
        log.info("no %s split for %s (%s)", split, spec, exc)
        return None


def resolve_splits(real, data_spec: str = "", *, split: str | None = None,
                   resize_filter: str | None = None) -> RealSplits:
    """Load the splits of `data_spec` beside `real` (same size, channels and filter).

    `split` says which split `real` is; when None it is found by fingerprint. Without a data spec
    only `real` is known: it trains the extractor (with a 10% holdout) and there is no floor.
    """
    resize_filter = resize_filter or guess_resize_filter(real)
    if not data_spec:
        return RealSplits(real, None, None, split, None, resize_filter)
    loaded: dict[str, object | None] = {}
    for s in SPLITS:
        if s == split:
            loaded[s] = real
            continue
        ds = _load(data_spec, real, s, resize_filter or "bicubic")
        if ds is not None and split is None and ds.fingerprint == real.fingerprint:
            ds, split = real, s
        loaded[s] = ds
    train, test = loaded["train"], loaded["test"]
    if train is not None and test is not None and same_images(train, test):
        log.info("%s has no distinct test split; using a 10%% holdout instead", data_spec)
        test = None
        loaded["test"] = None
    if train is None:
        train, test = real, None
    other_split = None if split is None else ("test" if split == "train" else "train")
    other = loaded.get(other_split) if other_split else None
    return RealSplits(train, test, other, split, other_split if other is not None else None,
                      resize_filter)
