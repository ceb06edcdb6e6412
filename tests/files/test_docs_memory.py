"""The docs' memory figures are the benchmark's: docs/restoration.md quotes
benchmarks/results/cli_memory.json through benchmarks/cli_memory.py's own sentence, and the
default-budget runs stayed within the 1.5 GiB budget they claim."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("cli_memory", ROOT / "benchmarks" / "cli_memory.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docs_quote_the_committed_results():
    bench = _bench()
    res = json.loads((ROOT / "benchmarks" / "results" / "cli_memory.json").read_text())
    assert bench.doc_block(res) in (ROOT / "docs" / "restoration.md").read_text()
    budget_mib = res["budget_default_gib"] * 1024
    for name in ("denoise_12mp_auto", "upscale_x4_4096_auto"):
        assert res["runs"][name]["peak_rss_mib"] <= budget_mib, name
    assert res["runs"]["denoise_12mp_tile0"]["peak_rss_mib"] > budget_mib  # what tiling saves
