"""benchmarks/privacy.py's bookkeeping: two processes (one per core) share one results file
without losing each other's rows, and the docs table shows each run's own figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import privacy  # noqa: E402


def _row(run: str, eps: float | None, cas: float, auc: float, copying: bool) -> dict:
    record = None if eps is None else {"epsilon": eps * 0.8, "delta": 1e-5, "steps": 900,
                                       "noise_multiplier": 0.61}
    return {"run": run, "dataset": "mnist", "target_epsilon": eps, "cpu_minutes_budget": 40,
            "steps": 900, "cas": cas, "fd": 123.4, "privacy": record,
            "audit": {"copying": copying, "c_t": -7.5 if copying else 3.25,
                      "c_t_effect": -0.45 if copying else None,
                      "near_copy_fraction": 0.25 if copying else 0.0,
                      "mia_auc_black_box": auc, "mia_auc_black_box_ci95": [auc - 0.02, auc + 0.02],
                      "mia_auc_white_box": None, "tpr_at_1pct_fpr": 0.03}}


def _results(command: str, rows: list[dict], overhead: dict | None = None) -> dict:
    settings = {"model": "dcgan", "batch_size": 256, "n_critic": 1, "lr": 2e-4, "clip": 1.0,
                "accountant": "rdp", "steps": 3000, "n_synth": 20000, "cas_epochs": 5,
                "n_audit": 10000, "n_mia": 1000, "threads": 1}
    out = {"settings": settings, "machine": {}, "commands": [command], "runs": rows}
    if overhead:
        out["overhead"] = overhead
    return out


def test_two_processes_merge_their_rows_into_one_file(tmp_path):
    out = tmp_path / "privacy.json"
    lane1 = _results("lane 1", [_row("mnist-eps10", 10.0, 0.41, 0.51, False)])
    lane2 = _results("lane 2", [_row("mnist-eps1", 1.0, 0.22, 0.50, False)],
                     {"mnist": {"images_per_s_dp": 350.0, "images_per_s_plain": 900.0,
                                "dp_over_plain": 350 / 900}})
    privacy._write(lane1, out)
    privacy._write(lane2, out)
    lane1["runs"].append(_row("mnist-epsinf", None, 0.83, 0.52, False))
    privacy._write(lane1, out)  # lane 1's second row: its first is replaced, lane 2's kept
    got = json.loads(out.read_text())
    assert [r["run"] for r in got["runs"]] == ["mnist-eps1", "mnist-eps10", "mnist-epsinf"]
    assert got["commands"] == ["lane 1", "lane 2"]
    assert got["overhead"]["mnist"]["images_per_s_dp"] == 350.0
    assert not out.with_suffix(".lock").exists() and not out.with_suffix(".tmp").exists()
    # a run scored again takes its training figures from its earlier row
    assert privacy._earlier_row(out, "mnist-eps1")["cas"] == 0.22
    assert privacy._earlier_row(out, "mnist-eps5") == {}


def test_the_table_shows_each_runs_figures():
    dp_row = {**_row("mnist-eps10", 10.0, 0.413, 0.507, False), "cpu_seconds": 2100.0}
    res = _results("cmd", [dp_row,
                           _row("mnist-overfit64", None, 0.12, 0.97, True)],
                   {"mnist": {"images_per_s_dp": 350.0, "images_per_s_plain": 875.0,
                              "dp_over_plain": 0.4}})
    lines = privacy.table(res).splitlines()
    dp, fixture = lines[2], lines[3]
    assert "| DP | 10 | 35 of 40 | 900 | 41.3% | 123.4 | 8.00 (1e-05) | 0.610 | 3.2 | 0.0% |" in dp
    assert "0.507 (0.487-0.527)" in dp and dp.endswith("| no |")
    assert fixture.startswith("| mnist-overfit64 | overfit fixture") and "| ∞ | 40 | 900 |" in fixture
    assert "-7.5 (-0.45) | 25.0% | 0.970" in fixture and fixture.endswith("| yes |")
    assert "350 images/s" in privacy.table(res) and "(0.40x)" in privacy.table(res)
