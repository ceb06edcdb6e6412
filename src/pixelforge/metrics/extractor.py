"""Offline feature extractor: a cnn trained on the real data (FID recipe, Heusel 2017), cached."""

# The feature space follows FID with a small classifier trained on the real images instead of
# ImageNet Inception: on labels when the data set has them, otherwise on 4-way rotation
# prediction (Gidaris et al. 2018), so it works offline on any data set.

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from pixelforge.core.files import atomic_write_text
from pixelforge.errors import UserError
from pixelforge.metrics import extractor_training
from pixelforge.metrics.extractor_training import ROTATIONS, TrainSettings
from pixelforge.metrics.images import (
    extractor_resolution,
    gather_uint8,
    sample_indices,
    tensor_batches,
    to_extractor_input,
)
from pixelforge.metrics.paths import extractors_dir
from pixelforge.metrics.threads import torch_threads

log = logging.getLogger("pixelforge.metrics")

EXTRACTOR_NAME = "cnn"
# Bump whenever training, preprocessing or architecture changes: old cache entries then miss.
EXTRACTOR_VERSION = 1
META_FILE = "extractor.json"
HOLDOUT_FRACTION = 0.1
MAX_TRAIN_IMAGES = 20_000  # a seeded subset of larger data sets: bounded time per epoch
MAX_HELDOUT_IMAGES = 5_000
# Small data sets get extra epochs up to this many steps: 512 MNIST digits reach 13% accuracy
# after one epoch (8 steps) but 91% after 100 steps (~4 s). Large ones are unaffected.
MIN_TRAIN_STEPS = 100
# width 16 (the classifier's default is 32) trains ~4x cheaper with 97-98% MNIST accuracy;
# batch 64 gives small data sets enough steps (2k images: 89% at batch 64 vs 69% at 128).
DEFAULTS = dict(width=16, feature_dim=256, batch_size=64, lr=2e-3)


def default_precision() -> str:
    """bf16 autocast for training where the CPU has AMX/AVX512-BF16 (measured 6-11 s vs 10-16 s
    on MNIST 12k, same accuracy), else fp32. Part of the hash, so it never mixes silently."""
    from pixelforge.core.precision import cpu_has_fast_bf16

    return "bf16" if cpu_has_fast_bf16() else "fp32"


@dataclass(frozen=True)
class ExtractorSpec:
    """Everything that determines the extractor's weights; its sha256 is the cache key."""

    data_fingerprint: str
    heldout: str  # "split:<fingerprint>" or "holdout:<fraction>"
    image_size: int
    channels: int
    epochs: int
    seed: int
    label_mode: str
    num_classes: int
    resolution: int
    max_train_images: int = MAX_TRAIN_IMAGES
    min_steps: int = MIN_TRAIN_STEPS
    name: str = EXTRACTOR_NAME
    version: int = EXTRACTOR_VERSION
    width: int = DEFAULTS["width"]
    feature_dim: int = DEFAULTS["feature_dim"]
    batch_size: int = DEFAULTS["batch_size"]
    lr: float = DEFAULTS["lr"]
    precision: str = "fp32"

    @property
    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def id(self) -> str:
        return extractor_id(self)

    @property
    def label(self) -> str:
        """Name, version and short hash, e.g. `cnn-v1@3fa2c19b0e7d`."""
        return f"{self.name}-v{self.version}@{self.id}"

    def settings(self) -> TrainSettings:
        return TrainSettings(
            channels=self.channels, num_classes=self.num_classes, label_mode=self.label_mode,
            resolution=self.resolution, epochs=self.epochs, seed=self.seed, width=self.width,
            feature_dim=self.feature_dim, batch_size=self.batch_size, lr=self.lr,
            precision=self.precision, min_steps=self.min_steps,
        )


def extractor_id(spec: ExtractorSpec) -> str:
    """The short (12 hex) hash of an extractor spec, recorded with every score."""
    return spec.key[:12]


def extractor_spec(train, *, heldout=None, epochs: int = 2, seed: int = 12345,
                   label_mode: str = "auto") -> ExtractorSpec:
    """The spec `get_extractor` would use for these arguments (no training)."""
    labelled = train.has_labels and train.num_classes >= 2  # one class teaches nothing
    if label_mode == "auto":
        label_mode = "labels" if labelled else "rotation"
    if label_mode not in ("labels", "rotation"):
        raise ValueError(f"label_mode must be 'auto', 'labels' or 'rotation', not {label_mode!r}")
    if label_mode == "labels" and not labelled:
        raise ValueError(f"{train.description} has no labels (or one class); use 'rotation'")
    if label_mode == "labels":
        num_classes = max(train.num_classes, getattr(heldout, "num_classes", 0) or 0)
    else:
        num_classes = ROTATIONS
    return ExtractorSpec(
        data_fingerprint=train.fingerprint,
        heldout=f"split:{heldout.fingerprint}" if heldout is not None
        else f"holdout:{HOLDOUT_FRACTION}",
        image_size=int(train.image_size), channels=int(train.channels), epochs=int(epochs),
        seed=int(seed), label_mode=label_mode, num_classes=num_classes,
        resolution=extractor_resolution(train.image_size), precision=default_precision(),
    )


class Extractor:
    """A trained cnn classifier in eval mode plus its spec, held-out accuracy and cache folder."""

    def __init__(self, spec: ExtractorSpec, model: torch.nn.Module, meta: dict,
                 folder: Path, from_cache: bool) -> None:
        self.spec, self.model, self.meta = spec, model.eval(), meta
        self.folder, self.from_cache = folder, from_cache

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def name(self) -> str:
        return f"{self.spec.name}-v{self.spec.version}"

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def accuracy(self) -> float:
        return float(self.meta["accuracy"])

    @torch.no_grad()
    def features_of_batches(self, batches: Iterable[torch.Tensor]) -> np.ndarray:
        """float32 [N, feature_dim] features of float [-1, 1] image batches (fp32 inference)."""
        with torch_threads():  # same features whatever the core count, see threads.py
            out = [self.model.features(to_extractor_input(b, self.spec.resolution)).float()
                   for b in batches]
        if not out:
            return np.zeros((0, self.spec.feature_dim), np.float32)
        return torch.cat(out).numpy()

    def features(self, images: torch.Tensor, batch_size: int = 250) -> np.ndarray:
        return self.features_of_batches(tensor_batches(images, batch_size))

    def __repr__(self) -> str:
        return f"Extractor({self.label}, {self.spec.label_mode}, accuracy={self.accuracy:.4f})"


def get_extractor(train, *, heldout=None, epochs: int = 2, seed: int = 12345,
                  label_mode: str = "auto") -> Extractor:
    """Load the extractor for this data and these options from the cache, or train and cache it.

    `train` is an ImageDataset; accuracy is measured on `heldout` (a distinct split) when given,
    else on a seeded 10% of `train` that is then left out of training.
    """
    spec = extractor_spec(train, heldout=heldout, epochs=epochs, seed=seed, label_mode=label_mode)
    folder = extractors_dir() / spec.key
    cached = _load(spec, folder)
    if cached is not None:
        return cached
    tr_idx, held_set, held_idx = _split(spec, train, heldout)
    images, labels = gather_uint8(train, tr_idx)
    held_images, held_labels = gather_uint8(held_set, held_idx)
    log.info("training the %s feature extractor on %d images (%s, %d epochs)", spec.label,
             len(images), spec.label_mode, spec.epochs)
    result = extractor_training.train_extractor(spec.settings(), images, labels, held_images,
                                                held_labels)
    from pixelforge import __version__

    meta = {
        "spec": asdict(spec), "key": spec.key, "id": spec.id, "accuracy": result.accuracy,
        "train_seconds": round(result.seconds, 3), "epochs_run": result.epochs,
        "steps": result.steps, "n_train": len(images),
        "n_heldout": len(held_images), "data": train.description,
        "heldout_data": heldout.description if heldout is not None else "10% of the train data",
        "pixelforge_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _store(folder, result.model, meta)
    return Extractor(spec, result.model, meta, folder, from_cache=False)


def _split(spec: ExtractorSpec, train, heldout):
    """(train indices, held-out data set, held-out indices), all seeded."""
    if heldout is not None:
        tr = sample_indices(len(train), spec.max_train_images, spec.seed)
        return tr, heldout, sample_indices(len(heldout), MAX_HELDOUT_IMAGES, spec.seed)
    if len(train) < 4:
        raise UserError(f"{train.description}: {len(train)} images are too few to train the "
                        "feature extractor (need at least 4)")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(spec.seed))
    n_held = min(max(1, round(len(train) * HOLDOUT_FRACTION)), MAX_HELDOUT_IMAGES)
    held = order[:n_held].sort().values
    tr = order[n_held:][: spec.max_train_images].sort().values
    return tr, train, held


def _load(spec: ExtractorSpec, folder: Path) -> Extractor | None:
    if not (folder / META_FILE).is_file():
        return None
    from pixelforge.models.cnn import CNNClassifier

    try:
        meta = json.loads((folder / META_FILE).read_text())
        model = CNNClassifier.from_pretrained(str(folder))
        if meta.get("key") != spec.key:
            raise ValueError("key mismatch")
    except Exception as exc:  # unreadable entry: retrain and replace it
        log.warning("ignoring the broken extractor cache entry %s (%s)", folder, exc)
        return None
    return Extractor(spec, model, meta, folder, from_cache=True)


def _store(folder: Path, model: torch.nn.Module, meta: dict) -> None:
    """Write the whole folder under a temp name, then rename it into place in one step."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name[:16]}.", suffix=".tmp", dir=folder.parent))
    try:
        model.save_pretrained(tmp)
        atomic_write_text(tmp / META_FILE, json.dumps(meta, indent=2) + "\n")
        if folder.exists():  # a broken entry, or another process finished first
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError as exc:
        log.warning("could not cache the extractor in %s (%s); it will be retrained next time",
                    folder, exc)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
