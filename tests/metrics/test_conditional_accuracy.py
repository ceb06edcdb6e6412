"""Conditional accuracy: the label-trained extractor checks a conditional generator's classes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pixelforge.config import EvalConfig
from pixelforge.data import load_images
from pixelforge.metrics import conditional_accuracy, evaluate_generator, get_extractor
from pixelforge.metrics.conditional import class_accuracy, skip_reason
from pixelforge.metrics.extractor import Extractor, extractor_spec
from pixelforge.metrics.extractor_training import build_classifier
from pixelforge.metrics.report import PROTOCOL_FIELDS, read_metrics
from pixelforge.models import Generator

CFG = EvalConfig(n_generated=200, extractor_epochs=1, batch_size=100, seed=3)
PER_CLASS = 10


class ClassBankGenerator(Generator):
    """Returns stored images of the requested class (or of a class drawn from z when
    `follow_labels` is False: a generator that ignores its labels). Freshly built: blank."""

    def __init__(self, image_size: int = 28, channels: int = 1, latent_dim: int = 8,
                 num_classes: int = 10, follow_labels: bool = True) -> None:
        super().__init__()
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.num_classes, self.follow_labels = num_classes, follow_labels
        blank = torch.full((num_classes * PER_CLASS, channels, image_size, image_size), -1.0)
        self.register_buffer("bank", blank)  # [K * PER_CLASS, C, H, W], class-major
        self.gain = torch.nn.Parameter(torch.ones(()))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        pick = (z[:, 0].abs() * 1000).long() % PER_CLASS
        if not self.follow_labels:
            labels = (z[:, 1].abs() * 1000).long() % self.num_classes
        return self.bank[labels * PER_CLASS + pick] * self.gain


pytestmark = pytest.mark.usefixtures("module_cache")  # extractors train once per module


@pytest.fixture
def held_out(tiny_npz):
    return load_images(str(tiny_npz), image_size=28, channels=1, split="test")


def _bank_generator(held_out, **kw) -> ClassBankGenerator:
    """A generator holding real test digits, PER_CLASS per class (cycled when fewer)."""
    gen = ClassBankGenerator(**kw)
    items = [held_out[i] for i in range(len(held_out))]
    for k in range(gen.num_classes):
        of_k = [img for img, label in items if label == k]
        assert of_k, f"no test digit of class {k}"
        for j in range(PER_CLASS):
            gen.bank[k * PER_CLASS + j] = of_k[j % len(of_k)]
    return gen


def test_class_accuracy_overall_per_class_and_balanced():
    intended = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    predicted = torch.tensor([0, 0, 0, 1, 1, 0, 2])
    acc = class_accuracy(predicted, intended, num_classes=4)
    assert acc.per_class == [0.75, 0.5, 1.0, None]  # class 3 has no images
    assert acc.counts == [4, 2, 1, 0]
    assert acc.value == pytest.approx((0.75 + 0.5 + 1.0) / 3)  # class-balanced
    assert acc.overall == pytest.approx(5 / 7)
    assert acc.chance == 0.25
    with pytest.raises(ValueError):
        class_accuracy(predicted[:3], intended, 4)


def test_skip_reasons(mnist_ds, untrained_extractor):
    uncond = ClassBankGenerator(num_classes=0)
    assert "not class-conditional" in skip_reason(uncond, untrained_extractor)
    assert skip_reason(ClassBankGenerator(num_classes=10), untrained_extractor) is None
    assert "5 classes" in skip_reason(ClassBankGenerator(num_classes=5), untrained_extractor)
    unlabeled = mnist_ds("train", 200, labeled=False)
    spec = extractor_spec(unlabeled, epochs=1, seed=0)
    assert spec.label_mode == "rotation"
    rotation = Extractor(spec, build_classifier(spec.settings()), {"accuracy": 0.5}, Path("."),
                         from_cache=False)
    reason = skip_reason(ClassBankGenerator(num_classes=10), rotation)
    assert "rotation" in reason and "not on class labels" in reason


def test_perfect_generator_scores_high_and_label_blind_near_chance(tiny_npz, held_out):
    train = load_images(str(tiny_npz), image_size=28, channels=1, split="train")
    extractor = get_extractor(train, heldout=held_out, epochs=1, seed=CFG.seed)
    assert extractor.accuracy > 0.5
    perfect = conditional_accuracy(_bank_generator(held_out), extractor, n_per_class=20, seed=1)
    assert perfect.counts == [20] * 10 and len(perfect.per_class) == 10
    assert perfect.value > 0.6 and perfect.overall == pytest.approx(perfect.value)
    blind = conditional_accuracy(_bank_generator(held_out, follow_labels=False), extractor,
                                 n_per_class=20, seed=1)
    assert blind.value < 0.3  # chance is 0.1
    assert perfect.value > blind.value + 0.4


def test_evaluate_reports_conditional_accuracy_and_its_ceiling(tmp_path, tiny_npz, held_out):
    run = tmp_path / "run"
    gen = _bank_generator(held_out)
    scores = evaluate_generator(gen, held_out, CFG, run_dir=run, step=7,
                                data_spec=str(tiny_npz), split="test")
    assert scores["conditional_accuracy"] > 0.6
    assert len(scores["conditional_accuracy_per_class"]) == 10
    assert 0.5 < scores["conditional_accuracy_real"] <= 1.0
    # the generator replays test digits: about as recognisable as the test split itself
    assert abs(scores["conditional_accuracy"] - scores["conditional_accuracy_real"]) < 0.25
    assert "conditional_accuracy_skipped" not in scores
    by_name = {r["metric"]: r for r in read_metrics(run)}
    record, ceiling = by_name["conditional_accuracy"], by_name["conditional_accuracy/real_heldout"]
    for r in (record, ceiling):
        missing = [f for f in PROTOCOL_FIELDS if f not in r]
        assert not missing, (r["metric"], missing)
        assert r["step"] == 7 and r["extractor_label_mode"] == "labels" and r["chance"] == 0.1
    assert record["value"] == scores["conditional_accuracy"]
    assert record["n_per_class"] == [20] * 10 and record["n_generated"] == 200
    assert ceiling["n_generated"] == len(held_out) and "real images" in ceiling["baseline"]


def test_evaluate_label_blind_generator_and_skips(tmp_path, tiny_npz, held_out):
    blind = _bank_generator(held_out, follow_labels=False)
    scores = evaluate_generator(blind, held_out, CFG, data_spec=str(tiny_npz), split="test",
                                baselines=False)
    assert scores["conditional_accuracy"] < 0.3
    assert "conditional_accuracy_real" not in scores  # the ceiling is a baseline
    run = tmp_path / "run"
    mismatched = _bank_generator(held_out, num_classes=5)
    scores = evaluate_generator(mismatched, held_out, CFG, run_dir=run,
                                data_spec=str(tiny_npz), split="test", baselines=False)
    assert "conditional_accuracy" not in scores
    assert "5 classes" in scores["conditional_accuracy_skipped"]
    assert not [r for r in read_metrics(run) if r["metric"].startswith("conditional")]
