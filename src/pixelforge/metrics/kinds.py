"""Evaluation by model kind: `pixelforge eval` looks up the checkpoint's kind here, no duck typing.

An evaluator is `fn(request: EvalRequest) -> dict[str, Any]` returning short-named scores (and
appending its records to the run's metrics.jsonl), where `request.pipeline` is what
`pixelforge.load` returned for the checkpoint. A model kind names its evaluator in its
declaration (pixelforge.kinds: `evaluator="package.module:function"`); EVALUATORS holds them by
kind, imported on the first lookup (`register_evaluator` adds one by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelforge.errors import UserError
from pixelforge.metrics.report import append_metrics
from pixelforge.registry import Registry


@dataclass
class EvalRequest:
    """Everything an evaluator may use: the loaded pipeline, the real data and the options."""

    pipeline: Any  # a pixelforge.pipelines.Pipeline
    checkpoint: Path
    data: str  # data spec of the real images: folder, .npz, data set name
    split: str
    cfg: Any  # EvalConfig
    run_dir: Path
    step: int | None = None
    inception: bool = False
    resize_filter: str = "bicubic"
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific, e.g. iwae_k, vae_n


Evaluator = Callable[[EvalRequest], dict[str, Any]]


def _load_evaluators(registry: Registry[Evaluator]) -> None:
    from pixelforge.kinds import all_kinds, resolve

    for kind in all_kinds():
        if kind.evaluator is not None:
            registry.add(kind.name, resolve(kind.evaluator))


EVALUATORS: Registry[Evaluator] = Registry("evaluation kind", loader=_load_evaluators)


def register_evaluator(kind: str) -> Callable[[Evaluator], Evaluator]:
    """Decorator: `fn(request) -> scores` evaluates checkpoints of model kind `kind`."""
    return EVALUATORS.register(kind)


def evaluate(kind: str, request: EvalRequest) -> dict[str, Any]:
    """Run the evaluator registered for `kind`; a UserError names the kinds that have one."""
    if kind not in EVALUATORS:
        raise UserError(f"{request.checkpoint}: no evaluation for models of kind {kind!r}; "
                        f"`pixelforge eval` scores {', '.join(EVALUATORS.names())}")
    return EVALUATORS.get(kind)(request)


def network_of(model: Any) -> Any:
    """The main network of a pipeline (or the network itself)."""
    return getattr(model, "model", model) if hasattr(model, "components") else model


def generative_scores(request: EvalRequest) -> dict[str, Any]:
    """FD/KID/precision-recall (and Inception scores on request) of generated images."""
    from pixelforge.data import load_images
    from pixelforge.metrics.evaluate import evaluate_generator

    gen = network_of(request.pipeline)
    real = load_images(request.data, image_size=gen.image_size, channels=gen.channels,
                       split=request.split, resize_filter=request.resize_filter)
    scores = evaluate_generator(gen, real, request.cfg, run_dir=request.run_dir,
                                step=request.step, data_spec=request.data,
                                inception=request.inception, split=request.split,
                                resize_filter=request.resize_filter)
    scores["real_data"] = real.description
    return scores


def autoencoder_scores(model, data: str, run_dir: Path, step: int | None, *, k: int, n: int,
                       seed: int, resize_filter: str = "bicubic") -> dict[str, float]:
    """Likelihood bounds (Burda et al. 2016) and reconstruction scores of a VAE on the first n
    test images of `data`; appends the records; returns name -> value."""
    from pixelforge.data import load_images
    from pixelforge.metrics.likelihood import evaluate_autoencoder
    from pixelforge.pipelines.autoencode import dataset_arrays

    model = network_of(model)
    ds = load_images(data, image_size=model.image_size, channels=model.channels, split="test",
                     limit=n, resize_filter=resize_filter)
    images, labels = dataset_arrays(ds, n)
    records = evaluate_autoencoder(model, images, labels if ds.has_labels else None, k=k,
                                   seed=seed, step=step, data_spec=data)
    for rec in records:
        append_metrics(run_dir, rec)
    return {rec["metric"]: rec["value"] for rec in records}


def vae_scores(request: EvalRequest) -> dict[str, Any]:
    """The generative scores of samples from the prior, plus likelihood and reconstruction."""
    scores = generative_scores(request)
    opts = request.options
    scores.update(autoencoder_scores(request.pipeline, request.data, request.run_dir,
                                     request.step, k=int(opts.get("iwae_k", 1000)),
                                     n=int(opts.get("vae_n", 1000)), seed=request.cfg.seed,
                                     resize_filter=request.resize_filter))
    return scores
