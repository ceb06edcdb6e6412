"""Conditional accuracy: does a class-conditional generator draw the class it was asked for?

The label-trained cnn extractor classifies images generated for each class; the score is the
mean over classes of the fraction classified as the requested class (chance is 1/K). The same
figure on real held-out images is its ceiling: the classifier's own accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pixelforge.metrics.extractor import Extractor
from pixelforge.metrics.images import (
    gather_uint8,
    sample_indices,
    tensor_batches,
    to_extractor_input,
)
from pixelforge.metrics.images import to_float as uint8_to_float  # uint8 -> [-1, 1]
from pixelforge.metrics.registry import Score
from pixelforge.metrics.threads import torch_threads

METRIC = "conditional_accuracy"
DESCRIPTION = ("mean over classes of the fraction of images of class k that the label-trained "
               "cnn extractor classifies as k (chance 1/K)")


@dataclass(frozen=True)
class ClassAccuracy:
    """Accuracy of the extractor's predictions against the intended classes."""

    value: float  # mean of per_class over classes with images (class-balanced)
    overall: float  # fraction of all images classified as intended
    per_class: list[float | None]  # [K]; None for a class without images
    counts: list[int]  # [K] images per class
    num_classes: int

    @property
    def chance(self) -> float:
        return 1.0 / self.num_classes

    def extra(self) -> dict:
        return {"per_class": self.per_class, "overall": self.overall, "n_per_class": self.counts,
                "num_classes": self.num_classes, "chance": self.chance}


def skip_reason(generator, extractor: Extractor) -> str | None:
    """Why conditional accuracy cannot be measured for this pair (None: it can)."""
    k = int(getattr(generator, "num_classes", 0) or 0)
    if k <= 0:
        return "the generator is not class-conditional"
    if extractor.spec.label_mode != "labels":
        return (f"the {extractor.label} extractor was trained on {extractor.spec.label_mode} "
                "prediction, not on class labels (the real data has no labels)")
    if extractor.spec.num_classes != k:
        return (f"the generator has {k} classes but the real data (the extractor's labels) has "
                f"{extractor.spec.num_classes}")
    return None


def balanced_labels(num_classes: int, n: int) -> torch.Tensor:
    """long [n]: classes 0..K-1 cycled, so every class gets n // K or n // K + 1 images."""
    return torch.arange(n) % num_classes


@torch.no_grad()
def classify(extractor: Extractor, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """long [N] predicted classes of float images [N, C, H, W] in [-1, 1] (fp32, one thread)."""
    model, res = extractor.model.eval(), extractor.spec.resolution
    with torch_threads():
        out = [model(to_extractor_input(b, res)).argmax(dim=1)
               for b in tensor_batches(images, batch_size)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def class_accuracy(predicted: torch.Tensor, intended: torch.Tensor, num_classes: int) -> ClassAccuracy:
    """Compare predicted [N] with intended [N] classes, overall and per class."""
    if len(predicted) != len(intended) or len(intended) == 0:
        raise ValueError(f"need as many predictions as labels (> 0), got {len(predicted)} and "
                         f"{len(intended)}")
    hit = (predicted == intended).double()
    counts = torch.bincount(intended, minlength=num_classes)[:num_classes]
    hits = torch.bincount(intended, weights=hit, minlength=num_classes)[:num_classes]
    per_class = [float(h / c) if c else None for h, c in zip(hits, counts, strict=True)]
    present = [a for a in per_class if a is not None]
    return ClassAccuracy(value=sum(present) / len(present), overall=float(hit.mean()),
                         per_class=per_class, counts=[int(c) for c in counts],
                         num_classes=num_classes)


def conditional_accuracy(generator, extractor: Extractor, *, n_per_class: int = 100,
                         seed: int = 0, batch_size: int = 250) -> ClassAccuracy:
    """Generate n_per_class images of every class (seeded) and score them with the extractor."""
    k = int(generator.num_classes)
    labels = torch.arange(k).repeat_interleave(n_per_class)  # [K * n_per_class]
    from pixelforge.metrics.baselines import image_batches

    images = torch.cat(list(image_batches(generator, len(labels), seed=seed, labels=labels,
                                          batch_size=batch_size)))
    return class_accuracy(classify(extractor, images, batch_size), labels, k)


def real_accuracy(real, extractor: Extractor, *, n: int | None, seed: int,
                  batch_size: int = 250) -> ClassAccuracy:
    """The same score on n seeded real images of a labelled data set (all when None)."""
    indices = sample_indices(len(real), n, seed)
    predicted, labels = [], []
    for i in range(0, len(indices), batch_size):
        images, y = gather_uint8(real, indices[i:i + batch_size])
        predicted.append(classify(extractor, uint8_to_float(images), batch_size))
        labels.append(y)
    return class_accuracy(torch.cat(predicted), torch.cat(labels), extractor.spec.num_classes)


def conditional_scores(generator, fake: torch.Tensor, fake_labels: torch.Tensor,
                       extractor: Extractor, heldout, *, n_heldout: int | None, seed: int,
                       batch_size: int, baseline: bool = True) -> list[Score]:
    """Scores for images `fake` generated for `fake_labels`, plus the real held-out ceiling.

    The ceiling uses n_heldout seeded images of `heldout` (a labelled split the extractor never
    trained on) when given, else the extractor's recorded held-out accuracy (not class-balanced, no per-class figures).
    """
    k = int(generator.num_classes)
    acc = class_accuracy(classify(extractor, fake, batch_size), fake_labels, k)
    scores = [Score(METRIC, METRIC, acc.value, {**acc.extra(), "definition": DESCRIPTION})]
    if not baseline:
        return scores
    if heldout is not None and getattr(heldout, "has_labels", False):
        ceiling = real_accuracy(heldout, extractor, n=n_heldout, seed=seed, batch_size=batch_size)
        scores.append(Score(f"{METRIC}/real_heldout", f"{METRIC}_real", ceiling.value,
                            {**ceiling.extra(), "baseline": f"real images: {heldout.description}",
                             "n_generated": sum(ceiling.counts), "definition": DESCRIPTION}))
    else:
        scores.append(Score(f"{METRIC}/real_heldout", f"{METRIC}_real", extractor.accuracy,
                            {"baseline": "the extractor's held-out accuracy "
                             f"({extractor.meta.get('heldout_data')}; not class-balanced)",
                             "n_generated": extractor.meta.get("n_heldout"),
                             "num_classes": k, "chance": 1.0 / k}))
    return scores
