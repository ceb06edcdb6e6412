"""The VAE part of `pixelforge eval` (Burda et al. 2016 bounds): likelihood and reconstruction."""

from __future__ import annotations

import json
from pathlib import Path


def _append(run_dir: Path, record: dict) -> None:
    try:
        from pixelforge.metrics.report import append_metrics
    except ImportError:  # the shared report writer is not installed: plain JSON lines
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record, default=str) + "\n")
        return
    append_metrics(run_dir, record)


def autoencoder_scores(model, data: str, run_dir: Path, step: int | None, *, k: int, n: int,
                       seed: int, resize_filter: str = "bicubic") -> dict[str, float]:
    """Score `model` on the first n test images of `data`; append the records; name -> value."""
    from pixelforge.data import load_images
    from pixelforge.metrics.likelihood import evaluate_autoencoder
    from pixelforge.pipelines.autoencode import dataset_arrays

    ds = load_images(data, image_size=model.image_size, channels=model.channels, split="test",
                     limit=n, resize_filter=resize_filter)
    images, labels = dataset_arrays(ds, n)
    records = evaluate_autoencoder(model, images, labels if ds.has_labels else None, k=k,
                                   seed=seed, step=step, data_spec=data)
    for rec in records:
        _append(run_dir, rec)
    return {rec["metric"]: rec["value"] for rec in records}
