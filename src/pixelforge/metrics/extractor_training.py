"""Train the cnn extractor: on labels, or on 4-way rotation prediction (Gidaris et al. 2018)."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pixelforge.metrics.images import to_extractor_input, to_float
from pixelforge.metrics.threads import torch_threads
from pixelforge.models import MODELS

ROTATIONS = 4


@dataclass(frozen=True)
class TrainSettings:
    """Everything that shapes the trained weights (all of it is part of the extractor hash)."""

    channels: int
    num_classes: int  # classes for label mode; ROTATIONS for rotation mode
    label_mode: str  # "labels" | "rotation"
    resolution: int
    epochs: int
    seed: int
    width: int
    feature_dim: int
    batch_size: int
    lr: float
    precision: str  # "fp32" | "bf16"
    min_steps: int = 0  # small data sets run extra epochs until this many optimizer steps


def epochs_to_run(s: TrainSettings, n_images: int) -> int:
    """`s.epochs`, or more when that many epochs would give fewer than `s.min_steps` steps."""
    steps_per_epoch = max(1, math.ceil(n_images / s.batch_size))
    return max(s.epochs, math.ceil(s.min_steps / steps_per_epoch))


@dataclass
class TrainResult:
    model: torch.nn.Module
    accuracy: float
    seconds: float
    epochs: int
    steps: int


def rotate(images: torch.Tensor, quarter_turns: torch.Tensor) -> torch.Tensor:
    """Rotate each square image [N, C, S, S] by its own number of quarter turns (0-3)."""
    out = images.clone()
    for k in range(1, ROTATIONS):
        chosen = quarter_turns == k
        if chosen.any():
            out[chosen] = torch.rot90(images[chosen], k, dims=(2, 3))
    return out


def _batch(s: TrainSettings, images: torch.Tensor, labels: torch.Tensor,
           turns: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    x = to_extractor_input(to_float(images), s.resolution)
    if s.label_mode == "rotation":
        assert turns is not None
        return rotate(x, turns), turns
    return x, labels


def _autocast(precision: str):
    if precision == "bf16":
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def build_classifier(s: TrainSettings) -> torch.nn.Module:
    return MODELS.get("cnn").build("classifier", channels=s.channels, num_classes=s.num_classes,
                                   width=s.width, feature_dim=s.feature_dim)


def train_extractor(s: TrainSettings, images: torch.Tensor, labels: torch.Tensor,
                    held_images: torch.Tensor, held_labels: torch.Tensor) -> TrainResult:
    """Adam with a cosine-decayed learning rate for `s.epochs` epochs (at least `s.min_steps`
    steps) on uint8 `images`; returns the model in eval mode and its held-out accuracy.
    The global RNG state and the thread count are left as they were."""
    with torch_threads():  # see threads.py
        return _train(s, images, labels, held_images, held_labels)


def _train(s: TrainSettings, images: torch.Tensor, labels: torch.Tensor,
           held_images: torch.Tensor, held_labels: torch.Tensor) -> TrainResult:
    start = time.perf_counter()
    g = torch.Generator().manual_seed(s.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        model = build_classifier(s)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    n = len(images)
    epochs = epochs_to_run(s, n)
    total = epochs * max(1, math.ceil(n / s.batch_size))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i / total, 1.0))))
    steps = 0
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for i in range(0, n, s.batch_size):
            idx = order[i : i + s.batch_size]
            if len(idx) < 2:  # BatchNorm needs more than one sample
                continue
            turns = torch.randint(0, ROTATIONS, (len(idx),), generator=g)
            x, y = _batch(s, images[idx], labels[idx], turns)
            with _autocast(s.precision):
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            steps += 1
    model.eval()
    accuracy = heldout_accuracy(s, model, held_images, held_labels)
    return TrainResult(model=model, accuracy=accuracy, seconds=time.perf_counter() - start,
                       epochs=epochs, steps=steps)


@torch.no_grad()
def heldout_accuracy(s: TrainSettings, model: torch.nn.Module, images: torch.Tensor,
                     labels: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy; in rotation mode held-out image i is turned i % 4 quarter turns."""
    model.eval()
    correct = total = 0
    for i in range(0, len(images), batch_size):
        lab = labels[i : i + batch_size]
        turns = torch.arange(i, i + len(lab)) % ROTATIONS
        x, y = _batch(s, images[i : i + batch_size], lab, turns)
        keep = (y >= 0) & (y < s.num_classes)
        pred = model(x).argmax(1)
        correct += int((pred[keep] == y[keep]).sum())
        total += int(keep.sum())
    return correct / total if total else float("nan")
