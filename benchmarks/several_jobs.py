"""Cost of thread oversubscription: `pixelforge train` jobs side by side, default vs 1 thread each.

    python benchmarks/several_jobs.py                      # ~4 min: 1 job, 2 jobs x default, 2 x 1
    python benchmarks/several_jobs.py --minutes 0.5 --jobs 2

Each scenario starts its jobs at the same moment (the shipped recipe demo, wall-clock time budget) and
reads images/s from each run's train_log.jsonl (median of the logged windows after the first).
"default" leaves the thread count to pixelforge (one per core this process may use;
OMP_NUM_THREADS is removed from the environment), "1" passes --threads 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_scenario(name: str, jobs: int, threads: str, minutes: float, out: Path) -> list[float]:
    """Start `jobs` training runs at once; images/s of each."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PIXELFORGE_THREADS")}
    procs, runs = [], []
    for j in range(jobs):
        run = out / f"{name}-{j}"
        shutil.rmtree(run, ignore_errors=True)
        cmd = [sys.executable, "-m", "pixelforge.cli.main"]
        if threads != "default":
            cmd += ["--threads", threads]
        cmd += ["train", "--config", "demo", "--out", str(run),
                "--quiet", "--steps", "1000000", "--train.time_budget", str(minutes),
                "--train.log_every", "20", "--train.sample_every", "1000000",
                "--train.checkpoint_every", "1000000", "--health.enabled", "false"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
        runs.append(run)
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"{name}: a job failed ({p.returncode}): {err.strip()[-500:]}")
    rates = []
    for run in runs:
        logs = [json.loads(x) for x in (run / "train_log.jsonl").read_text().splitlines()]
        window = [r["images_per_s"] for r in logs[1:]] or [r["images_per_s"] for r in logs]
        rates.append(statistics.median(window))
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=1.0, help="time budget of every job")
    ap.add_argument("--jobs", type=int, default=2, help="jobs side by side")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench" / "several_jobs")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    scenarios = [("alone-default", 1, "default"), (f"{args.jobs}x-default", args.jobs, "default"),
                 (f"{args.jobs}x-threads1", args.jobs, "1")]
    print(f"cpus: {len(os.sched_getaffinity(0))}, load average before: {os.getloadavg()[0]:.1f}")
    print("| scenario | threads per job | images/s per job | total images/s |")
    print("|---|---|---|---|")
    for name, jobs, threads in scenarios:
        rates = run_scenario(name, jobs, threads, args.minutes, args.out)
        per_job = ", ".join(f"{r:.0f}" for r in rates)
        print(f"| {jobs} job{'s' if jobs > 1 else ''} | {threads} | {per_job} | {sum(rates):.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
