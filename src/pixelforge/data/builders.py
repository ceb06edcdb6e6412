"""Training data: dataset builders `fn(cfg, *, download, **options)`, by name in DATA_BUILDERS or
by reference. A model kind's declaration (pixelforge.kinds) names its builder and passes what it
needs as explicit options, so this layer never looks at the model. Every dataset's items and
batches are dicts of named tensors (images float [C, H, W] in [-1, 1]); the order of batches
always comes from training/sampler.py's step-addressed sampler.

- "images":   {"image", "label"}               (load_images on data.path)
- "paired":   {"input", "target"}              (data.path + data.path_b aligned, or side-by-side)
- "unpaired": {"a", "b"}                       (two sets of any lengths, each its own sampler)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import Dataset

from pixelforge.data.dataset import ImageDataset
from pixelforge.data.spec import load_images
from pixelforge.errors import UserError
from pixelforge.registry import Registry

Builder = Callable[..., "NamedImages | UnpairedImages"]
DATA_BUILDERS: Registry[Builder] = Registry("dataset builder")


class NamedImages(Dataset):
    """Aligned ImageDatasets under names: item i is {name: image i of each, "label": label i of
    the first (when `with_label`)}. In memory when every part is (`tensors()`)."""

    def __init__(self, parts: dict[str, ImageDataset], *, with_label: bool = False,
                 description: str | None = None) -> None:
        sizes = {name: len(ds) for name, ds in parts.items()}
        if len(set(sizes.values())) != 1:
            raise UserError(f"paired image sets differ in length: {sizes}")
        self.parts, self.with_label = parts, with_label
        first = next(iter(parts.values()))
        self.main = first
        self.num_classes = first.num_classes if with_label else 0
        self.description = description or "; ".join(f"{k}: {v.description}"
                                                     for k, v in parts.items())
        self.fingerprint = "+".join(ds.fingerprint for ds in parts.values())
        self.skipped = [s for ds in parts.values() for s in ds.skipped]

    def __len__(self) -> int:
        return len(self.main)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {name: ds[i][0] for name, ds in self.parts.items()}
        if self.with_label:
            item["label"] = torch.tensor(int(self.main.labels[i]))
        return item

    def tensors(self) -> dict[str, torch.Tensor] | None:
        """{name: uint8 [N, C, H, W], ("label": int64 [N])} when all parts are in memory."""
        out: dict[str, torch.Tensor] = {}
        for name, ds in self.parts.items():
            pre = ds.tensors()
            if pre is None:
                return None
            out[name] = pre[0]
        if self.with_label:
            out["label"] = self.main.labels
        return out

    @property
    def num_images(self) -> int:
        return len(self)

    def reference(self, n: int, key: str | None = None) -> torch.Tensor:
        """The first n images of one part ([n, C, H, W] in [-1, 1]), e.g. for the health check."""
        ds = self.parts[key] if key else self.parts[next(reversed(self.parts))]
        return torch.stack([ds[i][0] for i in range(min(n, len(ds)))])


class UnpairedImages:
    """Two independent image sets: batches hold {"a": [N, ...], "b": [N, ...]}, each part drawn by
    its own step-addressed sampler (own seed), so lengths may differ and resume stays exact."""

    def __init__(self, a: ImageDataset, b: ImageDataset) -> None:
        self.parts = {"a": NamedImages({"a": a}), "b": NamedImages({"b": b})}
        self.num_classes = 0
        self.description = f"a: {a.description}; b: {b.description}"
        self.fingerprint = f"{a.fingerprint}+{b.fingerprint}"

    def __len__(self) -> int:
        """The smaller set (a batch must fit in both)."""
        return min(len(p) for p in self.parts.values())

    @property
    def num_images(self) -> int:
        return sum(len(p) for p in self.parts.values())

    def reference(self, n: int, key: str | None = None) -> torch.Tensor:
        return self.parts[key or "b"].reference(n)


def build_dataset(builder: str | Builder, cfg: Any, *, download: bool = True,
                  **options: Any) -> NamedImages | UnpairedImages:
    """The training data from `cfg` (a RunConfig) by `builder`: a DATA_BUILDERS name, a
    "module:function" reference or the function; `options` are the builder's own arguments."""
    if isinstance(builder, str) and ":" not in builder:
        fn = DATA_BUILDERS.get(builder)
    else:
        from pixelforge.kinds import resolve

        fn = resolve(builder)
    return fn(cfg, download=download, **options)


def _load(spec: str, cfg: Any, download: bool, channels: int | None = None) -> ImageDataset:
    m, d = cfg.model, cfg.data
    return load_images(spec, image_size=m.image_size, channels=channels or m.channels,
                       split=d.split, limit=d.limit, resize_filter=d.resize_filter,
                       download=download)


@DATA_BUILDERS.register("images")
def build_images(cfg: Any, *, download: bool = True) -> NamedImages:
    ds = _load(cfg.data.path, cfg, download)
    return NamedImages({"image": ds}, with_label=True, description=ds.description)


@DATA_BUILDERS.register("paired")
def build_paired(cfg: Any, *, download: bool = True) -> NamedImages:
    from pixelforge.data.paired import load_paired

    a, b = load_paired(cfg)
    return NamedImages({"input": a, "target": b})


@DATA_BUILDERS.register("unpaired")
def build_unpaired(cfg: Any, *, download: bool = True) -> UnpairedImages:
    if not cfg.data.path_b:
        raise UserError("data.path_b: unpaired training needs a second image set (set B); "
                        "data.path is set A")
    from pixelforge.data.options import side_channels

    ca, cb = side_channels(cfg)  # each set keeps its own channels (gray A, colour B)
    return UnpairedImages(_load(cfg.data.path, cfg, download, ca),
                          _load(cfg.data.path_b, cfg, download, cb))

