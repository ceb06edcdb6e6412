"""The one-call Python API: `pixelforge.load(path)` returns a ready generator (or any network)."""

from __future__ import annotations

from pathlib import Path

from pixelforge.checkpoint import read_json, resolve_checkpoint
from pixelforge.errors import UserError
from pixelforge.models import MODELS, PixelforgeModule


def load(path: str | Path, *, map_location: str = "cpu") -> PixelforgeModule:
    """Load a network from a run folder (its latest checkpoint) or a checkpoint folder."""
    ckpt = resolve_checkpoint(path)
    meta = read_json(ckpt / "config.json").get("_pixelforge")
    if not isinstance(meta, dict) or "model" not in meta:
        raise UserError(f"{ckpt / 'config.json'} has no '_pixelforge' section naming the model")
    family = MODELS.get(meta["model"])
    role = meta.get("role", "generator")
    if role not in family.networks:
        raise UserError(f"{ckpt}: model {family.name!r} has no network with role {role!r}")
    return family.networks[role].from_pretrained(str(ckpt), map_location=map_location)
