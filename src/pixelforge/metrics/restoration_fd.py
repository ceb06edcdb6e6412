"""FD of restored images in `cnn` features, patch-wise: the extractor (metrics/extractor.py,
trained by 4-way rotation prediction) sees 32 px patches of photos at their native resolution, so
texture and sharpness count (a whole photo shrunk to 32 px would hide them).

The extractor for a photo folder is trained once on PATCHES_PER_PHOTO seeded 32 px crops of each
photo and cached like every extractor (its key hashes the folder's files and the options).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

PATCH = 32
PATCHES_PER_PHOTO = 64
PATCH_SEED = 2024
EPOCHS = 8  # rotation prediction on small crops learns slowly: 2 epochs stayed at chance (25%)


class PhotoPatches:
    """uint8 32 px crops of a folder of photos, shaped like an unlabelled ImageDataset."""

    has_labels = False
    num_classes = 0
    image_size = PATCH

    def __init__(self, folder: str | Path, per_photo: int = PATCHES_PER_PHOTO,
                 seed: int = PATCH_SEED) -> None:
        from pixelforge.data.fingerprint import files_digest
        from pixelforge.data.photos import photo_files, read_photo

        files = photo_files(folder)
        rng = np.random.default_rng(seed)
        crops = []
        for f in files:
            a = read_photo(f, 3)
            h, w = a.shape[:2]
            for _ in range(per_photo):
                y, x = int(rng.integers(0, h - PATCH + 1)), int(rng.integers(0, w - PATCH + 1))
                crops.append(a[y:y + PATCH, x:x + PATCH])
        self.images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
        self.channels = 3
        self.fingerprint = files_digest(files[0].parent, files)[:12] + f"-p{per_photo}s{seed}"
        self.description = f"{len(self.images)} {PATCH} px crops of {len(files)} photos in " \
                           f"{files[0].parent}"

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images, torch.full((len(self.images),), -1, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i].float() / 127.5 - 1, -1


def photo_extractor(folder: str | Path):
    """The cached `cnn` extractor (rotation prediction) of 32 px crops of the photos in folder."""
    from pixelforge.metrics.extractor import get_extractor

    return get_extractor(PhotoPatches(folder), label_mode="rotation", epochs=EPOCHS)


def patches(images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Non-overlapping 32 px patches [M, C, 32, 32] of images [N, C, H, W]; with a mask (1 = hole)
    only the patches that hold some hole."""
    n, c, h, w = images.shape
    hh, ww = h - h % PATCH, w - w % PATCH
    x = images[..., :hh, :ww].unfold(2, PATCH, PATCH).unfold(3, PATCH, PATCH)
    x = x.permute(0, 2, 3, 1, 4, 5).reshape(-1, c, PATCH, PATCH)
    if mask is None:
        return x
    m = mask[..., :hh, :ww].unfold(2, PATCH, PATCH).unfold(3, PATCH, PATCH)
    keep = m.reshape(-1, PATCH * PATCH).amax(dim=1) > 0.5
    return x[keep]


def patch_fd(extractor, restored: list[torch.Tensor], clean: list[torch.Tensor],
             masks: list[torch.Tensor] | None = None) -> float:
    """FD between the cnn features of 32 px patches of restored and clean images (lists of
    [1, C, H, W] in [-1, 1]; inpainting: only patches touching the hole)."""
    from pixelforge.metrics.frechet import feature_stats, frechet_distance

    ms = masks or [None] * len(clean)
    fake = torch.cat([patches(r.float(), m) for r, m in zip(restored, ms, strict=True)])
    real = torch.cat([patches(c.float(), m) for c, m in zip(clean, ms, strict=True)])
    mu1, s1 = feature_stats(extractor.features(fake))
    mu2, s2 = feature_stats(extractor.features(real))
    return float(frechet_distance(mu1, s1, mu2, s2))


def restored_sets(fn, kind: str, clean: list[torch.Tensor], *, spec: str, seed: int = 0,
                  ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor] | None]:
    """(outputs, targets, masks or None) of `fn` on the inputs metrics.restoration's
    evaluate_restoration builds for (kind, spec, seed): the same seeded degradations and masks."""
    from pixelforge.data.degradations import item_seed, restoration_pair
    from pixelforge.data.masks import random_mask

    outs, targets, masks = [], [], []
    for i, img in enumerate(clean):
        x, s = img[None].float(), item_seed(seed, i)
        if kind == "inpaint":
            m = random_mask(spec, x.shape[-2], x.shape[-1], seed=s)[None]
            outs.append(fn(x * (1 - m), m).float().clamp(-1, 1))
            targets.append(x)
            masks.append(m)
        else:
            pair = restoration_pair(x, spec, s, quantize=True)
            outs.append(fn(pair["input"]).float().clamp(-1, 1))
            targets.append(pair["target"])
    return outs, targets, (masks if kind == "inpaint" else None)


def fd_scores(fns: dict, kind: str, clean: list[torch.Tensor], *, spec: str, seed: int,
              extractor) -> dict[str, float]:
    """{method: patch FD against the clean images} for restorers fns {method: fn}."""
    out = {}
    for name, fn in fns.items():
        restored, targets, masks = restored_sets(fn, kind, clean, spec=spec, seed=seed)
        out[name] = patch_fd(extractor, restored, targets, masks)
    return out
