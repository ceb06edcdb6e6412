"""Find runs under a folder and read their checkpoints, logs, metrics and samples (no training code).

The layout of a run folder (and which checkpoint is current) is pixelforge.rundir's; this module
summarises runs for the studio and the CLI.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pixelforge.checkpoint import CONFIG_FILE, INDEX_FILE, LEGACY_PIPELINES, latest_checkpoint
from pixelforge.errors import UserError
from pixelforge.rundir import META_FILE, RUN_SUBDIRS, RunDir

SKIP_DIRS = RUN_SUBDIRS | {"__pycache__", ".git"}


def contained(root: str | Path, candidate: str | Path) -> Path:
    """`candidate` (relative to `root`, or absolute) resolved, if it lies inside `root`.

    Symlinks are resolved first, so a link pointing out of the folder is refused like `../`."""
    base = Path(root).resolve()
    text = str(candidate)
    if "\x00" in text:
        raise UserError("path contains a NUL byte")
    path = Path(text)
    target = (path if path.is_absolute() else base / path).resolve()
    if target != base and not target.is_relative_to(base):
        raise UserError(f"path {text!r} is outside the runs folder {base}")
    return target


def read_jsonl(path: str | Path, *, tail: int | None = None) -> list[dict[str, Any]]:
    """Records of a JSON-lines file; a half-written last line (a run still writing) is skipped."""
    p = Path(path)
    if not p.is_file():
        return []
    out = []
    for line in p.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out[-tail:] if tail else out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The resolved config a run was started with (config.yaml), {} when absent or unreadable."""
    p = RunDir(run_dir).config
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def checkpoints(run_dir: str | Path) -> list[Path]:
    """Checkpoint folders of a run that hold weights, oldest first (temp folders of a save are
    skipped). The run's current one is `checkpoint.latest_checkpoint`, not the last of these."""
    return [p for p in RunDir(run_dir).step_dirs() if _has_weights(p)]


def _has_weights(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file() or (folder / INDEX_FILE).is_file()


def latest_sample(run_dir: str | Path) -> Path | None:
    """The newest progress grid (samples/step-N.png), None before the first one."""
    return RunDir(run_dir).latest_sample()


@dataclass
class RunInfo:
    """What the gallery shows about one run (or a bare checkpoint folder)."""

    name: str
    path: Path
    model: str = "?"
    kind: str = ""
    pipeline: str = ""
    data: str = ""
    step: int = 0
    total_steps: int | None = None
    train_seconds: float | None = None
    checkpoint: Path | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    updated: float = 0.0
    privacy: str = ""  # "ε = 9.9 (δ = 1e-05, rdp, 1200 steps)" or "not private"

    def metric_summary(self) -> str:
        """Latest value of each metric with the protocol that produced it, e.g.
        'fid=12.3 (mnist-cnn, 5000 gen vs 10000 test)'."""
        latest: dict[str, dict[str, Any]] = {}
        for rec in self.metrics:
            latest[str(rec.get("metric"))] = rec
        parts = []
        for name, rec in latest.items():
            value = rec.get("value")
            val = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
            proto = [str(rec[k]) for k in ("extractor_name", "extractor") if rec.get(k)][:1]
            if rec.get("n_generated"):
                proto.append(f"{rec['n_generated']} gen")
            if rec.get("n_real"):
                proto.append(f"vs {rec['n_real']} {rec.get('split') or 'real'}")
            parts.append(f"{name}={val}" + (f" ({', '.join(proto)})" if proto else ""))
        return "; ".join(parts)


def _meta_of(ckpt: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(meta.json, the _pixelforge section of model_index.json or config.json) of a checkpoint."""
    meta = _read_json(ckpt / META_FILE)
    index = _read_json(ckpt / INDEX_FILE) or _read_json(ckpt / CONFIG_FILE)
    pf = index.get("_pixelforge") if isinstance(index.get("_pixelforge"), dict) else {}
    for key in ("model", "kind", "pipeline"):
        if key in index and isinstance(index[key], str):
            pf = {**pf, key: index[key]}
    return meta, pf


def run_info(run_dir: str | Path, name: str | None = None) -> RunInfo:
    """Summarise a run folder (or a checkpoint folder) from its files; never raises on bad files."""
    run_dir = Path(run_dir)
    run = RunDir(run_dir)
    cfg = read_run_config(run_dir)
    ckpt = latest_checkpoint(run_dir)
    if ckpt is None and not run.checkpoints.exists() and _has_weights(run_dir):
        ckpt = run_dir  # a bare checkpoint folder
    info = RunInfo(name=name or run_dir.name, path=run_dir, checkpoint=ckpt)
    meta, pf = _meta_of(ckpt) if ckpt else ({}, {})
    model_cfg = cfg.get("model") or (meta.get("config") or {}).get("model") or {}
    info.model = str(pf.get("model") or model_cfg.get("name") or "?")
    info.kind = str(pf.get("kind") or "")
    info.pipeline = str(pf.get("pipeline") or LEGACY_PIPELINES.get(info.kind, ""))
    data_cfg = cfg.get("data") or (meta.get("config") or {}).get("data") or {}
    info.data = str(meta.get("data") or data_cfg.get("path") or "")
    train_cfg = cfg.get("train") or (meta.get("config") or {}).get("train") or {}
    info.total_steps = train_cfg.get("steps") if isinstance(train_cfg.get("steps"), int) else None
    info.step = int(meta.get("step") or 0)
    info.train_seconds = meta.get("train_seconds")
    log = read_jsonl(run.train_log, tail=1)
    if log and isinstance(log[-1].get("step"), int):
        info.step = max(info.step, log[-1]["step"])
    info.metrics = read_jsonl(run.metrics)
    info.privacy = _privacy_of(ckpt)
    stamps = [p.stat().st_mtime for p in (run.train_log, run.checkpoints, run_dir) if p.exists()]
    info.updated = max(stamps) if stamps else 0.0
    return info


def _privacy_of(ckpt: Path | None) -> str:
    """The checkpoint's ε in one line ("" when unknown or unreadable: the gallery never fails)."""
    from pixelforge.checkpoint import describe_privacy, privacy_record

    if ckpt is None:
        return ""
    try:
        return describe_privacy(privacy_record(ckpt))
    except Exception:  # noqa: BLE001 - a broken file shows as unknown, never an error page
        return ""


def _is_run(path: Path) -> bool:
    return RunDir(path).holds_run() or _has_weights(path)


def find_runs(root: str | Path, *, max_depth: int = 3) -> list[RunInfo]:
    """Every run or checkpoint folder under `root` (up to max_depth levels), newest first.

    Symlinked folders are followed only when they stay inside `root`."""
    base = Path(root).resolve()
    if not base.is_dir():
        return []
    found: list[RunInfo] = []

    def walk(d: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if not e.is_dir() or e.name in SKIP_DIRS or e.name.startswith("."):
                continue
            p = Path(e.path)
            if p.resolve() != base and not p.resolve().is_relative_to(base):
                continue  # a symlink out of the runs folder
            if _is_run(p):
                found.append(run_info(p, name=str(p.relative_to(base))))
            elif depth < max_depth:
                walk(p, depth + 1)

    walk(base, 1)
    return sorted(found, key=lambda r: r.updated, reverse=True)


@dataclass
class Progress:
    """Live state of a (possibly running) training: where it is, how fast, how long to go."""

    step: int
    total_steps: int | None
    images_per_s: float | None
    eta_seconds: float | None
    log: list[dict[str, Any]]
    checkpoint: Path | None
    sample: Path | None


def progress(run_dir: str | Path) -> Progress:
    """Read a run's train_log.jsonl and config.yaml for the monitor: step, speed, ETA."""
    run_dir = Path(run_dir)
    run = RunDir(run_dir)
    log = read_jsonl(run.train_log)
    cfg = read_run_config(run_dir).get("train") or {}
    total = cfg.get("steps") if isinstance(cfg.get("steps"), int) else None
    step = int(log[-1].get("step", 0)) if log else 0
    ips = log[-1].get("images_per_s") if log else None
    eta = None
    batch = cfg.get("batch_size")
    if total and isinstance(ips, (int, float)) and ips > 0 and isinstance(batch, int):
        eta = max(0, total - step) * batch / ips
        budget = cfg.get("time_budget")
        started = run.config.stat().st_mtime if budget and run.config.is_file() else None
        if budget and started:
            eta = min(eta, max(0.0, started + float(budget) * 60 - time.time()))
    return Progress(step, total, ips if isinstance(ips, (int, float)) else None, eta, log,
                    latest_checkpoint(run_dir), run.latest_sample())
