"""`photo_fd`: Frechet distance (Heusel et al. 2017) between the shipped judge's features of
32 px patches of two photo sets. A texture-statistics judge, not Inception (docs/restoration.md).

The judge (assets/judge/, trained by benchmarks/make_judge.py) is a small residual CIFAR-10
classifier, loaded offline from the package. Patches are deterministic: the non-overlapping
32 px grid from the top-left corner at native resolution and again after a 2x area downscale,
so both fine texture (noise, JPEG blocks) and structure one octave up (blur, smears) count.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pixelforge.errors import UserError
from pixelforge.metrics.threads import torch_threads

JUDGE_DIR = Path(__file__).resolve().parents[1] / "assets" / "judge"
PATCH = 32
SCALES = (1, 2)  # native resolution and a 2x area downscale
BATCH = 256
NAME = "photo_fd"


@lru_cache(maxsize=1)
def load_judge(folder: str | None = None):
    """The shipped judge classifier (float32, eval mode); a UserError naming the file if absent."""
    from pixelforge.models.judge import JudgeClassifier

    path = Path(folder) if folder else JUDGE_DIR
    config = path / "config.json"
    if not config.is_file():
        raise UserError(f"{config} is missing: the photo judge ships with the package "
                        "(benchmarks/make_judge.py writes it)")
    model = JudgeClassifier.load_folder(path, json.loads(config.read_text()))
    return model.float().eval()


def judge_info(folder: str | None = None) -> dict:
    """The judge's training record (test accuracy, steps, CPU time) for protocols and reports."""
    path = (Path(folder) if folder else JUDGE_DIR) / "training.json"
    info = json.loads(path.read_text()) if path.is_file() else {}
    keep = ("test_accuracy", "steps", "train_cpu_seconds", "data")
    return {"judge": "assets/judge (models/judge.py)", **{k: info[k] for k in keep if k in info},
            "patches": f"non-overlapping {PATCH} px grid at scales 1/{', 1/'.join(map(str, SCALES))}"}


def _grid(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> the non-overlapping 32 px patches from the top-left, [M, C, 32, 32]."""
    n, c, h, w = x.shape
    x = x[..., : h - h % PATCH, : w - w % PATCH].unfold(2, PATCH, PATCH).unfold(3, PATCH, PATCH)
    return x.permute(0, 2, 3, 1, 4, 5).reshape(-1, c, PATCH, PATCH)


def judge_patches(images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The patches photo_fd scores of images [N, C, H, W] in [-1, 1] (gray is repeated to RGB),
    at every scale in SCALES; with a mask [N, 1, H, W] (1 = hole) only patches touching it."""
    x = images.float()
    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    out = []
    for s in SCALES:
        xs = F.avg_pool2d(x, s) if s > 1 else x  # area downscale (drops a ragged edge)
        if min(xs.shape[-2:]) < PATCH:
            continue
        p = _grid(xs)
        if mask is not None:
            ms = F.max_pool2d(mask.float(), s) if s > 1 else mask.float()
            p = p[_grid(ms).flatten(1).amax(dim=1) > 0.5]
        out.append(p)
    return torch.cat(out) if out else x.new_zeros((0, 3, PATCH, PATCH))


@torch.no_grad()
def judge_features(images, masks=None) -> np.ndarray:
    """float32 [M, feature_dim] judge features of the patches of images (a tensor [N, C, H, W]
    or a list of [1, C, H, W] of any sizes; masks alike or None), in fp32 at fixed threads."""
    if isinstance(images, torch.Tensor):
        images, masks = [images], (None if masks is None else [masks])
    items = list(images)
    ms = list(masks) if masks is not None else [None] * len(items)
    if len(ms) != len(items):
        raise ValueError(f"{len(ms)} masks for {len(items)} image sets")
    patches = torch.cat([judge_patches(x if x.ndim == 4 else x[None], m)
                         for x, m in zip(items, ms, strict=True)])
    model = load_judge()
    with torch_threads():
        feats = [model.features(patches[i:i + BATCH]).float()
                 for i in range(0, len(patches), BATCH)]
    return torch.cat(feats).numpy() if feats else np.zeros((0, model.feature_dim), np.float32)


def fd_of_features(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between two [M, D] feature sets (each needs M >= 2)."""
    from pixelforge.metrics.frechet import feature_stats, frechet_distance

    if min(len(a), len(b)) < 2:
        raise ValueError(f"photo_fd needs >= 2 patches per set, got {len(a)} and {len(b)}: "
                         f"images must be at least {PATCH} px (or the mask must touch 2 patches)")
    return float(frechet_distance(*feature_stats(a), *feature_stats(b)))


def photo_fd(images, reference, masks=None) -> float:
    """FD between the judge features of the patches of images and of reference (tensors or
    lists of [1, C, H, W] in [-1, 1]); with masks (inpainting) only patches touching the hole,
    the same patches on both sides. Lower is closer to the reference's texture statistics."""
    return fd_of_features(judge_features(images, masks), judge_features(reference, masks))
