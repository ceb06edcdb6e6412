"""Markdown tables shared by the benchmark scripts and benchmarks/docs_tables.py."""

from __future__ import annotations


def pivot(rows: list[dict]) -> str:
    """One markdown table per group: a row per (setting, method), a column per metric."""
    out = []
    for group in dict.fromkeys(r["group"] for r in rows):
        sub = [r for r in rows if r["group"] == group]
        metrics = list(dict.fromkeys(r["metric"] for r in sub))
        keys = list(dict.fromkeys((r["setting"], r["method"]) for r in sub))
        cell = {(r["setting"], r["method"], r["metric"]): r["value"] for r in sub}
        out += [f"**{group}**", "", "| setting | method | " + " | ".join(metrics) + " |",
                "|---|---|" + "---|" * len(metrics)]
        for setting, method in keys:
            vals = []
            for m in metrics:
                v = cell.get((setting, method, m))
                vals.append("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v))
            out.append(f"| {setting} | {method} | " + " | ".join(vals) + " |")
        out.append("")
    return "\n".join(out)
