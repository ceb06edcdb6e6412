"""Atomic, pickle-free checkpoints: safetensors for tensors, JSON for everything else.

A checkpoint folder holds `model_index.json` naming its model, kind, inference pipeline and
components, one `<component>/config.json + model.safetensors` subfolder per network (the
diffusers layout), and for training runs `training_state.safetensors` and `meta.json`. Folders
written before components (config.json + model.safetensors at the top) still load.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from pixelforge.core.files import atomic_write_bytes, atomic_write_text, fsync_dir
from pixelforge.errors import UserError
from pixelforge.models.base import MODELS, PixelforgeModule

__all__ = ["atomic_write_bytes", "atomic_write_text"]  # re-exported from core.files

LATEST = "latest"
INDEX_FILE = "model_index.json"
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
INDEX_FORMAT = 1
# pipelines of folders written before model_index.json existed, by the family's kind
LEGACY_PIPELINES = {"gan": "generate", "vae": "autoencode", "vae-gan": "autoencode"}
STATE_FILE = "training_state.safetensors"
CKPT_DIR = "checkpoints"


_fsync_dir = fsync_dir  # kept for callers of the old private name


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
    for f in tmp_dir.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    for d in [p for p in tmp_dir.rglob("*") if p.is_dir()]:
        fsync_dir(d)
    if final_dir.exists():
        shutil.rmtree(final_dir)
    os.replace(tmp_dir, final_dir)
    fsync_dir(final_dir.parent)
    atomic_write_text(final_dir.parent / LATEST, final_dir.name + "\n")
    ckpts = sorted(p for p in final_dir.parent.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))
    for old in ckpts[:-keep]:
        if old != final_dir:
            shutil.rmtree(old, ignore_errors=True)
    for stale in final_dir.parent.glob("*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def checkpoint_problem(folder: Path) -> str | None:
    """Why `folder` is not a complete checkpoint (a missing file), or None when it is one."""
    if (folder / INDEX_FILE).is_file():
        try:
            index = read_json(folder / INDEX_FILE)
        except UserError as exc:
            return str(exc)
        comps = index.get("components") if isinstance(index, dict) else None
        if not isinstance(comps, dict) or not comps:
            return f"{folder / INDEX_FILE} names no components"
        for name, sub in comps.items():
            if not isinstance(sub, str) or not _safe_subfolder(sub):
                return f"{folder / INDEX_FILE}: component {name!r} has a bad folder {sub!r}"
            for f in (CONFIG_FILE, WEIGHTS_FILE):
                if not (folder / sub / f).is_file():
                    return f"component {name!r} is missing {folder / sub / f}"
        return None
    for f in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / f).is_file():
            return f"{folder / f} is missing"
    return None


def _safe_subfolder(sub: str) -> bool:
    parts = Path(sub).parts
    return sub == "." or (bool(parts) and not Path(sub).is_absolute() and ".." not in parts)


def _latest_target(run_dir: Path) -> tuple[Path, Path] | None:
    pointer = run_dir / CKPT_DIR / LATEST
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_text().strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise UserError(f"{pointer} does not name a checkpoint folder")
    return pointer, pointer.parent / name


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None (never a partial folder)."""
    try:
        target = _latest_target(Path(run_dir))
    except UserError:
        return None
    if target is None or not target[1].is_dir():
        return None
    return target[1] if checkpoint_problem(target[1]) is None else None


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept a run folder or a checkpoint folder (new or old layout); return the checkpoint."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such run or checkpoint: {p}")
    if (p / INDEX_FILE).is_file() or (p / CONFIG_FILE).is_file():
        problem = checkpoint_problem(p)
        if problem:
            raise UserError(f"{p} is not a complete checkpoint: {problem}")
        return p
    target = _latest_target(p)
    if target is not None:
        pointer, ckpt = target
        if not ckpt.is_dir():
            raise UserError(f"{pointer} points to {ckpt}, which does not exist")
        problem = checkpoint_problem(ckpt)
        if problem:
            raise UserError(f"{pointer} points to an incomplete checkpoint: {problem}")
        return ckpt
    raise UserError(
        f"{p} is neither a checkpoint ({INDEX_FILE}, or {CONFIG_FILE} + {WEIGHTS_FILE}) nor a run "
        f"folder with {CKPT_DIR}/{LATEST}"
    )


def read_json(path: str | Path) -> dict[str, Any]:
    """A JSON object from a file; any unreadable, non-JSON or non-object file is a UserError."""
    p = Path(path)
    try:
        data = json.loads(p.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise UserError(f"file not found: {p}") from None
    except IsADirectoryError:
        raise UserError(f"{p} is a folder, not a JSON file") from None
    except UnicodeDecodeError:
        raise UserError(f"{p} is not a JSON text file (binary content)") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{p} is not valid JSON: {exc}") from None
    except (OSError, RecursionError, ValueError) as exc:
        raise UserError(f"cannot read {p}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{p} must hold a JSON object, not {type(data).__name__}")
    return data


# --- components: model_index.json + one config.json/model.safetensors folder per network -----

def write_components(directory: str | Path, components: dict[str, PixelforgeModule], *,
                     model: str, kind: str, pipeline: str) -> None:
    """Save each network into `<directory>/<name>/` and then `model_index.json` naming them all.

    The index is written last (atomically), so a folder with an index has every component. Meant
    for a temp folder that commit_checkpoint_dir renames into place."""
    from pixelforge import __version__

    if not components:
        raise ValueError("write_components needs at least one network")
    directory = Path(directory)
    for name, net in components.items():
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"component name {name!r}: use letters, digits, '_' or '-'")
        net.save_pretrained(directory / name)
        (directory / name / "README.md").unlink(missing_ok=True)  # the hub's model card stub
    index = {"_pixelforge": {"version": __version__, "format": INDEX_FORMAT}, "model": model,
             "kind": kind, "pipeline": pipeline, "components": {n: n for n in components}}
    atomic_write_text(directory / INDEX_FILE, json.dumps(index, indent=2) + "\n")


def _meta_of(config_path: Path) -> dict[str, Any]:
    meta = read_json(config_path).get("_pixelforge")
    if not isinstance(meta, dict) or not isinstance(meta.get("model"), str):
        raise UserError(f"{config_path} has no '_pixelforge' section naming the model")
    if meta["model"] not in MODELS:
        raise UserError(f"{config_path}: unknown model {meta['model']!r}; this pixelforge knows "
                        f"{', '.join(MODELS.names())}")
    return meta


def read_index(ckpt_dir: str | Path) -> dict[str, Any]:
    """The checkpoint's index: model, kind, pipeline (None: a single network without one) and
    components {name: subfolder}; synthesised for folders written before model_index.json."""
    ckpt = Path(ckpt_dir)
    problem = checkpoint_problem(ckpt)
    if problem:
        raise UserError(f"{ckpt} is not a complete checkpoint: {problem}")
    if (ckpt / INDEX_FILE).is_file():
        index = read_json(ckpt / INDEX_FILE)
        for key in ("model", "kind", "pipeline"):
            if not isinstance(index.get(key), str):
                raise UserError(f"{ckpt / INDEX_FILE}: '{key}' must be a string")
        return index
    meta = _meta_of(ckpt / CONFIG_FILE)
    family = MODELS.get(meta["model"])
    role = meta.get("role", "generator")
    pipeline = LEGACY_PIPELINES.get(family.kind) if role == "generator" else None
    return {"_pixelforge": {"version": meta.get("version"), "format": 0}, "model": family.name,
            "kind": family.kind, "pipeline": pipeline, "components": {role: "."}}


def load_component(folder: str | Path, *, map_location: str = "cpu") -> PixelforgeModule:
    """One network from `<folder>/config.json + model.safetensors`, in eval mode.

    Every failure (missing or foreign files, a pickle in place of either file, weights that do
    not fit the config) is a UserError naming the file. Nothing is ever unpickled."""
    from safetensors.torch import load_file

    folder = Path(folder)
    config_path, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not config_path.is_file():
        raise UserError(f"{config_path} is missing")
    meta = _meta_of(config_path)
    family = MODELS.get(meta["model"])
    role = meta.get("role", "generator")
    cls = family.networks.get(role)
    if cls is None:
        raise UserError(f"{config_path}: model {family.name!r} has no network {role!r}")
    config = read_json(config_path)
    params = inspect.signature(cls).parameters
    try:
        model = cls(**{k: v for k, v in config.items() if k in params})
    except UserError as exc:
        raise UserError(f"{config_path}: {exc}") from None
    except (TypeError, ValueError, RuntimeError) as exc:
        raise UserError(f"{config_path} does not describe a {family.name} {role}: {exc}") from None
    if not weights.is_file():
        raise UserError(f"{weights} is missing")
    try:
        state = load_file(str(weights), device=map_location)
    except Exception as exc:  # SafetensorError, OSError: truncated, garbage or a pickle
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{weights} is not a readable safetensors file ({reason})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else (first[0] if first else "")
        raise UserError(f"{weights} does not fit the {family.name} {role} of {config_path} "
                        f"({detail[:200]})") from None
    return model.to(map_location).eval()
