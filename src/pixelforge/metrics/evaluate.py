"""evaluate_generator: every registered metric plus its baselines, logged with the full protocol."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pixelforge.errors import UserError
from pixelforge.metrics.baselines import (
    fd_real_vs_real,
    fd_untrained,
    image_batches,
    stream_features,
    untrained_features,
)
from pixelforge.metrics.cache import real_feature_stats
from pixelforge.metrics.conditional import METRIC as CONDITIONAL_METRIC
from pixelforge.metrics.conditional import balanced_labels, conditional_scores, skip_reason
from pixelforge.metrics.extractor import Extractor, get_extractor
from pixelforge.metrics.images import float_batches, sample_indices
from pixelforge.metrics.registry import MetricInputs, Score, metrics_in
from pixelforge.metrics.report import append_metrics, utc_timestamp
from pixelforge.metrics.splits import RealSplits, resolve_splits
from pixelforge.metrics.threads import torch_threads

log = logging.getLogger("pixelforge.metrics")


def _check_shapes(generator, real) -> None:
    g = (int(generator.image_size), int(generator.channels))
    r = (int(real.image_size), int(real.channels))
    if g != r:
        raise UserError(f"the generator makes {g[0]}px images with {g[1]} channel(s) but the real "
                        f"data is {r[0]}px with {r[1]}; load the data at the generator's size")


def _protocol(generator, real, cfg, extractor: Extractor, splits: RealSplits, n_real: int,
              data_spec: str, step: int | None) -> dict[str, Any]:
    from pixelforge import __version__

    return {
        "extractor": extractor.label, "extractor_name": extractor.name,
        "extractor_hash": extractor.id, "extractor_label_mode": extractor.spec.label_mode,
        "extractor_resolution": extractor.spec.resolution,
        "extractor_epochs": extractor.spec.epochs, "extractor_steps": extractor.meta.get("steps"),
        "extractor_accuracy": extractor.meta.get("accuracy"), "n_real": n_real,
        "n_real_requested": cfg.n_real, "n_generated": cfg.n_generated,
        "image_size": int(real.image_size), "channels": int(real.channels),
        "resize_filter": splits.resize_filter, "data_spec": data_spec,
        "split": splits.real_split, "data_fingerprint": real.fingerprint,
        "data": real.description, "dtype": "float32", "stats_dtype": "float64",
        "seed": cfg.seed, "step": step, "generator": getattr(generator, "family", None) or
        type(generator).__name__, "pixelforge_version": __version__, "timestamp": utc_timestamp(),
    }


def evaluate_generator(generator, real, cfg, *, run_dir: str | Path | None = None,
                       step: int | None = None, data_spec: str = "", inception: bool = False,
                       baselines: bool = True, split: str | None = None,
                       resize_filter: str | None = None) -> dict[str, Any]:
    """Score `generator` against `real` (an ImageDataset) in the cnn feature space.

    Returns the short-named scores (fd, kid, kid_std, precision, recall, fd_untrained,
    fd_real_vs_real, extractor_accuracy, and fid_inception/kid_inception/is_inception when
    `inception`; for class-conditional generators conditional_accuracy and its real-image
    ceiling conditional_accuracy_real, or conditional_accuracy_skipped with the reason) plus
    `extractor`, `n_real`, `n_generated` and the full `protocol`; appends one record per score
    to <run_dir>/metrics.jsonl when run_dir is given. `data_spec` lets the train/test splits be
    found (extractor training, held-out accuracy, real-vs-real floor); `split` and
    `resize_filter` say how `real` was loaded (inferred when None).
    """
    _check_shapes(generator, real)
    memo: dict[str, Any] = {}
    if inception:  # fail in seconds, before any slow work, when the weights cannot be had
        from pixelforge.metrics.inception import load_inception

        memo["inception_net"] = load_inception()
    # the generators run with the caller's threads; everything after on one (see threads.py)
    num_classes = int(getattr(generator, "num_classes", 0) or 0)
    fake_labels = balanced_labels(num_classes, cfg.n_generated) if num_classes else None
    by_class = {"labels": fake_labels} if num_classes else {}  # every class equally often
    keep = bool(num_classes) or inception  # these metrics need the images, not only features
    with torch_threads():
        splits = resolve_splits(real, data_spec, split=split, resize_filter=resize_filter)
        extractor = get_extractor(splits.train, heldout=splits.heldout,
                                  epochs=cfg.extractor_epochs, seed=cfg.seed)
    # generated batch by batch with the caller's threads; only features are kept (bounded memory)
    chunks = image_batches(generator, cfg.n_generated, seed=cfg.seed, batch_size=cfg.batch_size,
                           **by_class)
    fake_features, fake = stream_features(extractor, chunks, keep_images=keep)
    blank = (untrained_features(generator, extractor, n=cfg.n_generated, seed=cfg.seed,
                                batch_size=cfg.batch_size) if baselines else None)
    with torch_threads():
        stats = real_feature_stats(real, extractor, n_real=cfg.n_real, seed=cfg.seed,
                                   batch_size=cfg.batch_size, resize_filter=splits.resize_filter)
        indices = sample_indices(len(real), cfg.n_real, cfg.seed)
        inputs = MetricInputs(
            real=stats, fake_features=fake_features, fake_images=fake,
            real_batches=lambda: float_batches(real, indices, cfg.batch_size), seed=cfg.seed,
            batch_size=cfg.batch_size, _memo=memo,
        )
        scores: list[Score] = [s for spec in metrics_in(("cnn",)) for s in spec.fn(inputs)]
        if baselines:
            scores += _baselines(generator, blank, extractor, stats, splits, cfg)
        skipped = None
        if num_classes:
            skipped = skip_reason(generator, extractor)
            if skipped is None:
                scores += conditional_scores(generator, fake, fake_labels, extractor,
                                             splits.heldout, n_heldout=cfg.n_generated,
                                             seed=cfg.seed, batch_size=cfg.batch_size,
                                             baseline=baselines)
            else:
                log.info("no conditional accuracy: %s", skipped)
    if inception:  # a large network: the caller's thread count
        scores += [s for spec in metrics_in(("inception",)) for s in spec.fn(inputs)]
    scores.append(Score("extractor_accuracy", "extractor_accuracy", extractor.accuracy,
                        {"heldout": extractor.meta.get("heldout_data"),
                         "n_heldout": extractor.meta.get("n_heldout")}))
    protocol = _protocol(generator, real, cfg, extractor, splits, stats.n, data_spec, step)
    if run_dir is not None:
        for s in scores:
            append_metrics(run_dir, {"metric": s.metric, "value": s.value, **protocol, **s.extra})
    result = _result(scores, protocol)
    for s in scores:
        if s.metric == CONDITIONAL_METRIC:
            result[f"{s.key}_per_class"] = s.extra["per_class"]
    if skipped is not None:
        result["conditional_accuracy_skipped"] = skipped
    return result


def _baselines(generator, blank, extractor, stats, splits: RealSplits, cfg) -> list[Score]:
    out: list[Score] = []
    if blank is not None:
        out.append(fd_untrained(blank, type(generator).__name__, stats, seed=cfg.seed))
    if splits.other is not None and len(splits.other) >= 2:
        out.append(fd_real_vs_real(splits.other, splits.other_split, splits.real_split,
                                   extractor, stats, n=cfg.n_generated, seed=cfg.seed,
                                   batch_size=cfg.batch_size))
    return out


def _result(scores: list[Score], protocol: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for s in scores:
        result[s.key] = s.value
        if "std" in s.extra:
            result[f"{s.key}_std"] = s.extra["std"]
    result.update(extractor=protocol["extractor"], n_real=protocol["n_real"],
                  n_generated=protocol["n_generated"], protocol=protocol)
    return result
