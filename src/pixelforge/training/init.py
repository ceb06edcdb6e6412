"""train.init: the weights a fine-tune starts from, taken from a run folder, a checkpoint folder
or a shipped model by name (e.g. upscale-x4, colorize); shared by every kind that fine-tunes."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from pixelforge.errors import UserError


def resolve_model_path(source: str | Path) -> Path:
    """A run folder, checkpoint folder, or the name of a shipped model (e.g. upscale-x4)."""
    from pixelforge.pipelines.restore import SHIPPED_DIR

    p = Path(source)
    if p.exists():
        return p
    if (SHIPPED_DIR / str(source) / "model_index.json").is_file():
        return SHIPPED_DIR / str(source)
    shipped = sorted(d.name for d in SHIPPED_DIR.iterdir() if d.is_dir()) \
        if SHIPPED_DIR.is_dir() else []
    raise UserError(f"train.init {str(source)!r}: no such run, checkpoint or shipped model "
                    f"(shipped: {', '.join(shipped) or 'none'})")


def load_init_network(source: str | Path, role: str) -> nn.Module:
    """The network of component `role` from a run, checkpoint or shipped model name."""
    from pixelforge.pipelines.base import load_pipeline

    return load_pipeline(resolve_model_path(source), component=role)


def copy_init_weights(net: nn.Module, source: str | Path, role: str) -> None:
    """Load `source`'s `role` network into `net` (a UserError when the shapes differ)."""
    found = load_init_network(source, role)
    try:
        net.load_state_dict(found.state_dict())
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise UserError(f"train.init {str(source)!r}: its {role} does not match model.params "
                        f"({first})") from None
