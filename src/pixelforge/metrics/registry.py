"""The metric registry: every metric is one function of MetricInputs returning named Scores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from pixelforge.metrics.cache import RealStats
from pixelforge.registry import Registry


@dataclass(frozen=True)
class Score:
    """One number: `metric` is the protocol-stating name recorded in metrics.jsonl (e.g.
    `kid_cnn`), `key` its short name in evaluate_generator's result (e.g. `kid`); `extra`
    holds companions such as a standard deviation or fields overriding the common protocol."""

    metric: str
    key: str
    value: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class MetricInputs:
    """What every metric may use. Features are the cnn extractor's; images are in [-1, 1]."""

    real: RealStats
    fake_features: np.ndarray  # float32 [N, D]
    fake_images: torch.Tensor  # float [N, C, H, W]
    real_batches: Callable[[], Iterator[torch.Tensor]]  # the real images behind `real`
    seed: int
    batch_size: int
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a value once per evaluation (e.g. Inception features for several metrics)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


MetricFn = Callable[[MetricInputs], list[Score]]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    fn: MetricFn
    group: str  # "cnn" runs by default; "inception" only when asked (needs downloaded weights)
    summary: str


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(name: str, *, group: str = "cnn",
                    summary: str = "") -> Callable[[MetricFn], MetricFn]:
    """Decorator: register `fn(inputs) -> list[Score]` under a protocol-stating name."""

    def deco(fn: MetricFn) -> MetricFn:
        METRICS.register(name)(MetricSpec(name=name, fn=fn, group=group, summary=summary))
        return fn

    return deco


def metrics_in(groups: tuple[str, ...]) -> Iterator[MetricSpec]:
    for name in METRICS:
        spec = METRICS.get(name)
        if spec.group in groups:
            yield spec
