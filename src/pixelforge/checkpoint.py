"""Atomic, pickle-free checkpoints: safetensors for tensors, JSON for everything else.

A checkpoint folder holds `model_index.json` naming its model, kind, inference pipeline and
components, one `<component>/config.json + model.safetensors` subfolder per network (the
diffusers layout), and for training runs `training_state.safetensors` and `meta.json`. Folders
written before components (config.json + model.safetensors at the top) still load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from pixelforge.core.files import atomic_write_bytes, atomic_write_text
from pixelforge.errors import UserError
from pixelforge.models.base import MODELS, PixelforgeModule
from pixelforge.rundir import CHECKPOINTS_DIR, LATEST, META_FILE, RunDir

INDEX_FILE = "model_index.json"
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
INDEX_FORMAT = 1
# pipelines of folders written before model_index.json existed, by the family's kind
LEGACY_PIPELINES = {"gan": "generate", "vae": "autoencode", "vae-gan": "autoencode"}
STATE_FILE = "training_state.safetensors"


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


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The run's current checkpoint: the folder `checkpoints/latest` names, when it is complete;
    None otherwise (no pointer yet, a bad pointer, a partial folder). See pixelforge.rundir."""
    try:
        target = RunDir(run_dir).latest_target()
    except UserError:
        return None
    if target is None or not target.is_dir():
        return None
    return target if checkpoint_problem(target) is None else None


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
    run = RunDir(p)
    ckpt = run.latest_target()
    if ckpt is not None:
        pointer = run.latest_pointer
        if not ckpt.is_dir():
            raise UserError(f"{pointer} points to {ckpt}, which does not exist")
        problem = checkpoint_problem(ckpt)
        if problem:
            raise UserError(f"{pointer} points to an incomplete checkpoint: {problem}")
        return ckpt
    raise UserError(
        f"{p} is neither a checkpoint ({INDEX_FILE}, or {CONFIG_FILE} + {WEIGHTS_FILE}) nor a run "
        f"folder with {CHECKPOINTS_DIR}/{LATEST}"
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
    for a temp folder that RunDir.commit renames into place."""
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
    not fit the config) is a UserError naming the file. Nothing is ever unpickled. The class
    comes from config.json's "_pixelforge" section; PixelforgeModule.load_folder loads it."""
    folder = Path(folder)
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise UserError(f"{config_path} is missing")
    meta = _meta_of(config_path)
    family = MODELS.get(meta["model"])
    role = meta.get("role", "generator")
    cls = family.networks.get(role)
    if cls is None:
        raise UserError(f"{config_path}: model {family.name!r} has no network {role!r}")
    return cls.load_folder(folder, read_json(config_path), map_location=map_location)


def privacy_record(ckpt_dir: str | Path) -> dict[str, Any] | None:
    """The DP accounting a checkpoint carries (ε spent, δ, accountant, ...; written by private
    training into model_index.json and meta.json), or None for a run trained without privacy."""
    ckpt = Path(ckpt_dir)
    for name in (INDEX_FILE, META_FILE):
        if (ckpt / name).is_file():
            rec = read_json(ckpt / name).get("privacy")
            if isinstance(rec, dict):
                return rec
    return None


def describe_privacy(record: dict[str, Any] | None) -> str:
    """One line for summaries: "ε = 9.87 (δ = 1e-05, rdp, 1200 steps)" or "not private"."""
    if not record:
        return "not private"
    spent = (f"{record['releases']} release" if record.get("releases")
             else f"{record.get('steps')} steps")
    return (f"ε = {record.get('epsilon', float('nan')):.3g} (δ = {record.get('delta'):g}, "
            f"{record.get('accountant')}, {spent})")
