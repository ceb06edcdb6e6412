"""Import cost: `python -c "import torch"` against `import pixelforge` and `pixelforge --help`.

Each command is a fresh process, timed wall-clock from start to exit; the commands take turns
(round-robin) so a burst of load on the shared machine hits all of them alike, and each row is
the median of --runs. The ratio column is each median over `import torch`'s (issue 19 item 6:
`pixelforge --help` within 1.3x of importing torch). docs/benchmarks.md "Import time" is made
from the committed JSON:

    .venv/bin/python benchmarks/import_time.py --runs 15 --json benchmarks/results/import_time.json
    .venv/bin/python benchmarks/import_time.py --from-json benchmarks/results/import_time.json \
        --docs docs/benchmarks.md        # rewrite the table between its markers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

PY = sys.executable
CLI = str(Path(PY).parent / "pixelforge")  # the console script a user runs
CASES = [  # (label, argv)
    ("python -c pass (interpreter start)", [PY, "-c", "pass"]),
    ('python -c "import torch"', [PY, "-c", "import torch"]),
    ('python -c "import pixelforge"', [PY, "-c", "import pixelforge"]),
    ("pixelforge --help", [CLI, "--help"]),
    ("pixelforge train --help", [CLI, "train", "--help"]),
]
REFERENCE = 'python -c "import torch"'
BEGIN, END = "<!-- results:import-time begin -->", "<!-- results:import-time end -->"


def time_once(argv: list[str]) -> float:
    """Seconds from start to exit of one fresh process (its output discarded)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=True, timeout=120)
    return time.perf_counter() - t0


def measure(runs: int) -> dict:
    """Median (and min/max) seconds of every case over `runs` round-robin rounds."""
    for _, argv in CASES:  # warm the page cache: the first start reads every file from disk
        time_once(argv)
    samples: dict[str, list[float]] = {label: [] for label, _ in CASES}
    for _ in range(runs):
        for label, argv in CASES:
            samples[label].append(time_once(argv))
    ref = statistics.median(samples[REFERENCE])
    rows = [{"command": label, "median_s": round(statistics.median(s), 3),
             "min_s": round(min(s), 3), "max_s": round(max(s), 3),
             "ratio_to_import_torch": round(statistics.median(s) / ref, 2)}
            for label, s in samples.items()]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"date": date.today().isoformat(), "runs": runs, "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_average_1min": load, "rows": rows}


def table(result: dict) -> str:
    """The markdown table of one result."""
    lines = [f"| command ({result['date']}, median of {result['runs']} runs) | median s | "
             "min-max s | / import torch |", "|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| `{r['command']}` | {r['median_s']:.2f} | {r['min_s']:.2f}-"
                     f"{r['max_s']:.2f} | {r['ratio_to_import_torch']:.2f}x |")
    return "\n".join(lines)


def write_docs(doc: Path, result: dict) -> None:
    """Replace the text between the import-time markers of `doc` with the table."""
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{doc}: no {BEGIN} ... {END} markers to write the table between")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{table(result)}\n{END}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11, help="rounds (each runs every command once)")
    ap.add_argument("--json", type=Path, help="write the result here")
    ap.add_argument("--from-json", type=Path, help="print (and --docs) a saved result instead")
    ap.add_argument("--docs", type=Path, help="rewrite this markdown file's import-time table")
    args = ap.parse_args()
    if args.from_json:
        result = json.loads(args.from_json.read_text())
    else:
        if not Path(CLI).is_file():
            raise SystemExit(f"{CLI} not found: install pixelforge into this venv first")
        result = measure(args.runs)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.docs:
        write_docs(args.docs, result)


if __name__ == "__main__":
    main()
