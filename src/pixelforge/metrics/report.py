"""metrics.jsonl: one JSON object per score, each carrying the full protocol that produced it."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from pixelforge.rundir import RunDir

log = logging.getLogger("pixelforge.metrics")

# Fields every evaluation record carries (evaluate_generator fills them all).
PROTOCOL_FIELDS = (
    "metric", "value", "extractor", "extractor_name", "extractor_hash", "n_real", "n_generated",
    "image_size", "channels", "resize_filter", "data_spec", "split", "data_fingerprint", "dtype",
    "seed", "step", "pixelforge_version", "timestamp",
)


def utc_timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_metrics(run_dir: str | Path, record: dict[str, Any]) -> Path:
    """Append `record` as one line to <run_dir>/metrics.jsonl (created if missing).

    The line goes out in a single write() on an O_APPEND descriptor, then fsync, so concurrent
    writers never interleave and a crash leaves at most one missing line, never half a line.
    A record without a timestamp gets one.
    """
    if "metric" not in record or "value" not in record:
        raise ValueError("a metrics record needs at least 'metric' and 'value'")
    record = {**record}
    record.setdefault("timestamp", utc_timestamp())
    line = json.dumps(_clean(record), allow_nan=False, default=str) + "\n"
    path = RunDir(run_dir).metrics
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        data = line.encode("utf-8")
        written = os.write(fd, data)
        if written != len(data):  # practically never for one short line on a local file
            raise OSError(f"short write to {path} ({written} of {len(data)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All records of <run_dir>/metrics.jsonl (empty when missing); skips blank lines, and
    skips with a warning naming the line any that is not a JSON object (e.g. hand-edited)."""
    path = RunDir(run_dir).metrics
    if not path.is_file():
        return []
    records = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            log.warning("%s line %d is not a JSON record; skipped", path, number)
            continue
        records.append(record)
    return records
