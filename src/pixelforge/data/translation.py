"""Training data of the translation tasks: pix2pix pairs (in data.direction's order, or made on
the fly from photos for colourisation) and CycleGAN's two independent sets (class-filtered).

- "translation_pairs": {"input", "target"}  (pix2pix; data.direction b2a swaps the two sets)
- "translation_sets":  {"a", "b"}           (CycleGAN; data.classes / data.classes_b filter)

Which of the two a model trains on is its kind's declaration (pixelforge/kinds/translation.py).

Colourisation items (translation.pairs gray) are pure functions of (train.seed, index), like the
"degraded" photos, so the step-addressed sampler keeps resume exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from pixelforge.core.images import to_float, to_gray, to_uint8
from pixelforge.data.builders import (
    DATA_BUILDERS,
    NamedImages,
    UnpairedImages,
    build_paired,
    build_unpaired,
)
from pixelforge.data.dataset import ImageDataset
from pixelforge.data.fingerprint import files_digest
from pixelforge.data.photos import photo_files
from pixelforge.errors import UserError

CROPS_PER_PHOTO = 200  # items per photo in one pass over random-crop colourisation data


def keep_classes(ds: ImageDataset, classes: list[int] | None, field: str) -> ImageDataset:
    """The images of `ds` whose label is in `classes` (None: all); in-memory sets only."""
    if not classes:
        return ds
    pre = ds.tensors()
    if pre is None or not ds.has_labels:
        raise UserError(f"{field}: class filtering needs labelled in-memory data (an .npz with "
                        f"y_* labels or a class-per-folder set), not {ds.description}")
    images, labels = pre
    keep = torch.isin(labels, torch.tensor(classes, dtype=labels.dtype))
    if not bool(keep.any()):
        raise UserError(f"{field}: no image has class {classes} in {ds.description}")
    return ImageDataset(images=images[keep], labels=labels[keep], num_classes=ds.num_classes,
                        description=f"{ds.description}, classes {classes} ({int(keep.sum())})",
                        fingerprint=f"{ds.fingerprint}-c{'.'.join(map(str, classes))}",
                        image_size=ds.image_size, channels=ds.channels,
                        class_names=ds.class_names)


class GrayPairs(Dataset):
    """Colourisation pairs from colour photos: item i is {"input": luma, "target": colour}.

    crop "center": one centre square per photo; "random": `per_photo` crops of photo i % N with
    side drawn in [1/2, 1] of its shorter side, position and horizontal flip drawn from
    (seed, i), each resized to `size` (so the scale matches a whole photo at inference)."""

    def __init__(self, files: list[Path], *, size: int, crop: str, seed: int,
                 resize_filter: str = "bicubic", per_photo: int = CROPS_PER_PHOTO) -> None:
        from pixelforge.data.decode import PIL_FILTERS

        self.photos = []
        for f in files:
            try:
                with Image.open(f) as im:
                    self.photos.append(im.convert("RGB"))
            except (OSError, ValueError) as exc:
                raise UserError(f"data.path: cannot read {f} ({exc})") from None
        self.size, self.crop, self.seed = int(size), crop, int(seed)
        self.filter = PIL_FILTERS[resize_filter]
        self.per_photo = per_photo if crop == "random" else 1
        self.num_classes, self.skipped = 0, []
        self.fingerprint = files_digest(files[0].parent, files)[:16]
        self.description = (f"{len(files)} colour photos in {files[0].parent}, {crop} crops -> "
                            f"{size} px, input = BT.601 luma")

    def __len__(self) -> int:
        return len(self.photos) * self.per_photo

    @property
    def num_images(self) -> int:
        return len(self.photos)

    def tensors(self) -> None:
        """Made on the fly (batch_stream uses a DataLoader)."""
        return None

    def target(self, i: int) -> torch.Tensor:
        """The colour crop of item i, float [3, size, size] in [-1, 1]."""
        im = self.photos[i % len(self.photos)]
        w, h = im.size
        side = min(w, h)
        flip = False
        if self.crop == "random":
            rng = np.random.default_rng([self.seed, int(i)])
            side = int(rng.integers(side // 2, side + 1))
            x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            flip = bool(rng.integers(0, 2))
        else:
            x0, y0 = (w - side) // 2, (h - side) // 2
        patch = im.crop((x0, y0, x0 + side, y0 + side)).resize((self.size, self.size),
                                                               self.filter)
        a = np.array(patch)[:, ::-1] if flip else np.array(patch)
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float() / 127.5 - 1

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        y = self.target(int(i))
        # the input is the 8-bit luma a saved gray file would hold
        x = to_float(to_uint8(to_gray(y[None])[0]))
        return {"input": x, "target": y}

    def reference(self, n: int, key: str | None = None) -> torch.Tensor:
        return torch.stack([self[i][key or "target"] for i in range(min(n, len(self)))])


@DATA_BUILDERS.register("translation_pairs")
def build_translation_pairs(cfg: Any, *, download: bool = True) -> NamedImages | GrayPairs:
    """pix2pix data: {"input", "target"} in data.direction's order."""
    d, t = cfg.data, cfg.translation
    if t.pairs == "gray":
        if d.direction != "a2b":
            raise UserError("data.direction: translation.pairs gray makes gray (A) -> colour (B) "
                            "pairs; use a2b")
        if d.path_b:
            raise UserError("data.path_b: translation.pairs gray makes the inputs from data.path; "
                            "unset data.path_b")
        if (cfg.model.channels or 3) != 3:
            raise UserError("model.channels: colourisation (translation.pairs gray) outputs "
                            "colour; set 3")
        files = photo_files(d.path, d.split)[: d.limit]
        return GrayPairs(files, size=int(cfg.model.image_size), crop=t.crop,
                         seed=cfg.train.seed, resize_filter=d.resize_filter)
    pairs = build_paired(cfg, download=download)
    if d.direction == "a2b":
        return pairs
    a, b = pairs.parts["input"], pairs.parts["target"]
    return NamedImages({"input": b, "target": a},
                       description=f"input (B): {b.description}; target (A): {a.description}")


@DATA_BUILDERS.register("translation_sets")
def build_translation_sets(cfg: Any, *, download: bool = True) -> UnpairedImages:
    """CycleGAN data: sets A (data.path, data.classes) and B (data.path_b, data.classes_b)."""
    d = cfg.data
    sets = build_unpaired(cfg, download=download)
    if not d.classes and not d.classes_b:
        return sets
    a = keep_classes(sets.parts["a"].parts["a"], d.classes, "data.classes")
    b = keep_classes(sets.parts["b"].parts["b"], d.classes_b, "data.classes_b")
    return UnpairedImages(a, b)
