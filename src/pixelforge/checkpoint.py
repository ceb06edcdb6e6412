"""Atomic, pickle-free checkpoints: safetensors for tensors, JSON for everything else."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from pixelforge.errors import UserError

LATEST = "latest"
STATE_FILE = "training_state.safetensors"
CKPT_DIR = "checkpoints"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync, then rename over it: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# --- nested state <-> (flat tensors, JSON skeleton) -------------------------------------------

def flatten_state(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "t") -> Any:
    """Replace every tensor in a nested dict/list with a reference, collecting the tensors."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"state key {k!r} must be str or int")
            tag = f"i:{k}" if isinstance(k, int) else f"s:{k}"
            out[tag] = flatten_state(v, tensors, f"{prefix}.{k}")
        return {"__dict__": out}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [flatten_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)],
                "tuple": isinstance(obj, tuple)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a training state")


def unflatten_state(skel: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(skel, dict):
        if "__tensor__" in skel:
            return tensors[skel["__tensor__"]]
        if "__dict__" in skel:
            out = {}
            for tag, v in skel["__dict__"].items():
                kind, _, key = tag.partition(":")
                out[int(key) if kind == "i" else key] = unflatten_state(v, tensors)
            return out
        if "__list__" in skel:
            items = [unflatten_state(v, tensors) for v in skel["__list__"]]
            return tuple(items) if skel.get("tuple") else items
    return skel


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """Save a nested training state (modules' and optimizers' state dicts, RNG, step) atomically."""
    tensors: dict[str, torch.Tensor] = {}
    skel = flatten_state(state, tensors)
    data = st_save(tensors, metadata={"pixelforge_state": json.dumps(skel)})
    atomic_write_bytes(path, data)


def load_state(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"training state not found: {path}")
    raw = path.read_bytes()
    try:
        tensors = st_load(raw)
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        skel = json.loads(meta["pixelforge_state"])
    except Exception as exc:  # corrupt or foreign file
        raise UserError(f"{path} is not a pixelforge training state ({exc})") from None
    return unflatten_state(skel, tensors)


# --- checkpoint folders ------------------------------------------------------------------------

def checkpoint_name(step: int) -> str:
    return f"step-{step:07d}"


def commit_checkpoint_dir(tmp_dir: Path, final_dir: Path, keep: int) -> None:
    """Rename a fully written temp folder into place, point `latest` at it, prune old ones."""
    for f in tmp_dir.iterdir():
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    if final_dir.exists():
        shutil.rmtree(final_dir)
    os.replace(tmp_dir, final_dir)
    _fsync_dir(final_dir.parent)
    atomic_write_text(final_dir.parent / LATEST, final_dir.name + "\n")
    ckpts = sorted(p for p in final_dir.parent.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))
    for old in ckpts[:-keep]:
        if old != final_dir:
            shutil.rmtree(old, ignore_errors=True)
    for stale in final_dir.parent.glob("*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    pointer = Path(run_dir) / CKPT_DIR / LATEST
    if not pointer.is_file():
        return None
    ckpt = pointer.parent / pointer.read_text().strip()
    return ckpt if (ckpt / "config.json").is_file() else None


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept a run folder or a checkpoint folder; return the folder holding config.json."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such run or checkpoint: {p}")
    if (p / "config.json").is_file() and (p / "model.safetensors").is_file():
        return p
    ckpt = latest_checkpoint(p)
    if ckpt is not None:
        return ckpt
    raise UserError(
        f"{p} is neither a checkpoint (config.json + model.safetensors) nor a run folder with "
        f"{CKPT_DIR}/{LATEST}"
    )


def read_json(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise UserError(f"file not found: {p}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{p} is not valid JSON: {exc}") from None
