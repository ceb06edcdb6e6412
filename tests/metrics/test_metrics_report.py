"""metrics.jsonl: one valid JSON line per record, appended atomically, protocol kept intact."""

import json
import threading

import pytest

from pixelforge.metrics.report import append_metrics, read_metrics
from pixelforge.rundir import METRICS_FILE


def test_appends_one_line_per_record(tmp_path):
    run = tmp_path / "run"  # created on demand
    append_metrics(run, {"metric": "fd_cnn", "value": 1.5, "step": 10})
    append_metrics(run, {"metric": "kid_cnn", "value": 0.01, "std": 0.002,
                         "timestamp": "2024-01-01T00:00:00Z"})
    lines = (run / METRICS_FILE).read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert first["metric"] == "fd_cnn" and first["value"] == 1.5 and "timestamp" in first
    assert second["timestamp"] == "2024-01-01T00:00:00Z"
    assert read_metrics(run) == [first, second]


def test_non_finite_values_become_null_and_bad_records_are_refused(tmp_path):
    import numpy as np

    append_metrics(tmp_path, {"metric": "x", "value": float("nan"), "n": np.int64(3),
                              "nested": {"inf": float("inf")}})
    record = read_metrics(tmp_path)[0]
    assert record["value"] is None and record["n"] == 3 and record["nested"]["inf"] is None
    with pytest.raises(ValueError):
        append_metrics(tmp_path, {"value": 1.0})


def test_concurrent_writers_never_interleave(tmp_path):
    def writer(w):
        for i in range(50):
            append_metrics(tmp_path, {"metric": f"m{w}", "value": i, "pad": "x" * 300})

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = read_metrics(tmp_path)
    assert len(records) == 200
    assert sorted(r["value"] for r in records if r["metric"] == "m2") == list(range(50))


def test_broken_lines_are_skipped_with_a_warning(tmp_path, caplog):
    append_metrics(tmp_path, {"metric": "fd", "value": 1.0})
    with open(tmp_path / METRICS_FILE, "ab") as fh:
        fh.write(b'{"metric": "kid", "val\n[1, 2]\n\xff\xfe garbage\n')
    append_metrics(tmp_path, {"metric": "kid", "value": 2.0})
    with caplog.at_level("WARNING", logger="pixelforge.metrics"):
        records = read_metrics(tmp_path)
    assert [(r["metric"], r["value"]) for r in records] == [("fd", 1.0), ("kid", 2.0)]
    assert [m for m in caplog.messages if "line 2 is not a JSON record" in m]
    assert len([m for m in caplog.messages if "skipped" in m]) == 3
