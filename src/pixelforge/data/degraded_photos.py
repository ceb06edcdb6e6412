"""The "degraded" dataset builder: seeded random crops of photos, degraded or masked on the fly.

Item i is crop i of photo i % N: its position, flip/rotation, degradation (noise, JPEG, blur,
bicubic downsampling or the realistic chain) or mask are drawn from a generator seeded by
(train.seed, i) only, so every item is a pure function of its index and the step-addressed sampler makes resume exact (also with
DataLoader workers). Items are {"input", "target"} (+ "mask", 1 = hole, for inpainting), floats
in [-1, 1]; the input is rounded to 8 bits like a saved file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from pixelforge.core.images import to_float, to_uint8
from pixelforge.data.builders import DATA_BUILDERS
from pixelforge.data.degradations import degrade, modcrop, parse_degradation
from pixelforge.data.fingerprint import files_digest
from pixelforge.data.masks import random_mask
from pixelforge.data.photos import npz_photos, photo_files, read_photo
from pixelforge.data.shard_source import shard_photos
from pixelforge.data.shards import MANIFEST, is_shard_folder
from pixelforge.errors import UserError


def _quantize(x: torch.Tensor) -> torch.Tensor:
    return to_float(to_uint8(x))  # the 8-bit grid


UPSCALE_DEGRADATIONS = ("bicubic", "realistic")


def task_degradation(task: str, degradation: str, scale: int) -> str:
    """The degradation spec of a task: denoise takes restore.degradation as it is; upscale takes
    "realistic" (the Real-ESRGAN-style chain) or bicubic (also the default, "blind"), at `scale`."""
    if task != "upscale":
        return degradation
    name = str(degradation).partition(":")[0]
    if name == "realistic":
        return f"realistic:{scale}"
    if name in ("bicubic", "blind"):  # "blind" is the section's default: today's bicubic
        return f"bicubic:{scale}"
    raise UserError(f"restore.degradation {degradation!r}: an upscaler trains on "
                    f"{' or '.join(UPSCALE_DEGRADATIONS)}")


class DegradedPhotos(Dataset):
    """patches_per_image seeded crops of each photo, with the task's degradation applied.

    task: "denoise" (input = degradation(target)), "upscale" (input = bicubic 1/scale of the
    target crop, or the realistic chain when degradation is "realistic"; crop size a multiple
    of scale) or "inpaint" (mask from one of `masks`)."""

    def __init__(self, files: list[Path], *, task: str, crop: int, channels: int = 3,
                 degradation: str = "blind", scale: int = 1, masks: tuple[str, ...] = ("medium",),
                 seed: int = 0, patches_per_image: int = 2000, augment: bool = True,
                 images: list[np.ndarray] | None = None) -> None:
        if task not in ("denoise", "upscale", "inpaint"):
            raise UserError(f"degraded data: unknown restoration task {task!r}")
        self.task, self.channels, self.seed, self.augment = task, channels, int(seed), augment
        self.scale = int(scale) if task == "upscale" else 1
        self.crop = crop - crop % self.scale
        self.spec = parse_degradation(task_degradation(task, degradation, self.scale))
        self.masks = tuple(masks)
        # `images` given: the pictures of one .npz (files = that path once per picture)
        self.images = images if images is not None else [read_photo(f, channels) for f in files]
        small = [f.name for f, a in zip(files, self.images, strict=True)
                 if min(a.shape[:2]) < self.crop]
        if small:
            raise UserError(f"data: {small[0]} is smaller than the {self.crop} px training crop "
                            "(model.image_size)")
        self.per_image = int(patches_per_image)
        self.num_classes = 0
        self.fingerprint = files_digest(files[0].parent, files)[:16]
        what = "masked" if task == "inpaint" else self.spec.name
        where = files[0] if images is not None else files[0].parent
        self.description = f"{len(files)} photos in {where}, {self.crop} px crops, {what}"
        self.skipped: list[str] = []

    def __len__(self) -> int:
        return len(self.images) * self.per_image

    @property
    def num_images(self) -> int:
        return len(self.images)

    def tensors(self) -> None:
        """Not in memory as one tensor: items are made on the fly (batch_stream uses a loader)."""
        return None

    def _clean(self, i: int, rng: np.random.Generator) -> torch.Tensor:
        a = self.images[i % len(self.images)]
        h, w = a.shape[:2]
        y = int(rng.integers(0, h - self.crop + 1))
        x = int(rng.integers(0, w - self.crop + 1))
        patch = a[y:y + self.crop, x:x + self.crop]
        if self.augment:
            patch = np.rot90(patch, int(rng.integers(0, 4)))
            if rng.integers(0, 2):
                patch = patch[:, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(patch)).permute(2, 0, 1)
        return t.float() / 127.5 - 1  # [C, crop, crop]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, int(i)])
        target = self._clean(int(i), rng)
        item_seed = int(rng.integers(0, 2**62))
        if self.task == "inpaint":
            protocol = self.masks[int(rng.integers(0, len(self.masks)))]
            mask = random_mask(protocol, self.crop, self.crop, seed=item_seed)  # [1, H, W]
            return {"input": target * (1 - mask), "target": target, "mask": mask}
        target = modcrop(target, self.scale)
        inp = _quantize(degrade(target, self.spec, torch.Generator().manual_seed(item_seed)))
        return {"input": inp, "target": target}

    def reference(self, n: int, key: str | None = None) -> torch.Tensor:
        """The clean targets of the first n items [n, C, crop, crop] (health statistics)."""
        return torch.stack([self[i][key or "target"] for i in range(min(n, len(self)))])


@DATA_BUILDERS.register("degraded")
def build_degraded(cfg: Any, *, download: bool = True, task: str = "denoise",
                   scale: int = 1) -> DegradedPhotos:
    """Crops of the photos in data.path (data.split subfolder if present), degraded for the
    restoration `task` (the kind's declaration passes it): restore.degradation (denoise),
    bicubic or realistic (restore.degradation) x `scale` (upscale), restore.masks (inpaint)."""
    from pixelforge.data.spec import split_npz_key

    m, r = cfg.model, cfg.restore
    path, key = split_npz_key(str(cfg.data.path))
    images = None
    if path.suffix.lower() == ".npz":  # an .npz of photos: its pictures, cropped the same way
        images = npz_photos(path, key, cfg.data.split, m.channels or 3)[: cfg.data.limit]
        files = [path] * len(images)
    elif is_shard_folder(path):  # shards (pixelforge pack): their pictures at the stored size
        images = shard_photos(path, m.channels or 3, cfg.data.limit)
        files = [path / MANIFEST] * len(images)
    else:
        files = photo_files(cfg.data.path, cfg.data.split)[: cfg.data.limit]
    scale = int(scale or 1) if task == "upscale" else 1
    return DegradedPhotos(files, task=task, crop=int(m.image_size or 64), channels=m.channels or 3,
                          degradation=r.degradation, scale=scale, masks=tuple(r.masks),
                          seed=cfg.train.seed, patches_per_image=r.patches_per_image,
                          images=images)
