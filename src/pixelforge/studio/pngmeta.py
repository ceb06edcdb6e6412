"""Generation parameters in PNG text chunks (as image studios do), and reading them back."""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image, PngImagePlugin

from pixelforge.errors import UserError

KEY = "pixelforge"  # tEXt chunk holding the JSON record
TEXT_KEY = "parameters"  # a human-readable line, the key other image tools show


@dataclass(frozen=True)
class GenerationParams:
    """Everything needed to reproduce a generated grid exactly."""

    model: str
    model_hash: str
    seed: int
    count: int
    truncation: float | None = None
    label: int | None = None
    pixelforge_version: str = ""

    def describe(self) -> str:
        parts = [f"model: {self.model}", f"hash: {self.model_hash}", f"seed: {self.seed}",
                 f"count: {self.count}"]
        if self.truncation is not None:
            parts.append(f"truncation: {self.truncation:g}")
        if self.label is not None:
            parts.append(f"class: {self.label}")
        parts.append(f"pixelforge {self.pixelforge_version}")
        return ", ".join(parts)


def png_bytes(image: Image.Image, params: GenerationParams) -> bytes:
    """`image` encoded as PNG with `params` in its text chunks."""
    info = PngImagePlugin.PngInfo()
    info.add_text(KEY, json.dumps(asdict(params), sort_keys=True))
    info.add_text(TEXT_KEY, params.describe())
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _typed(rec: dict[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    value = rec.get(key)
    if value is None and optional:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UserError(f"PNG info: field {key!r} is {value!r}, expected {kind.__name__}")
    return value


def read_params(image: Image.Image) -> GenerationParams:
    """The generation parameters stored by png_bytes; UserError when the PNG carries none."""
    text = getattr(image, "text", None) or image.info
    raw = text.get(KEY) if isinstance(text, dict) else None
    if not raw:
        raise UserError("PNG info: this image carries no pixelforge generation parameters")
    try:
        rec = json.loads(raw)
    except json.JSONDecodeError:
        raise UserError("PNG info: the pixelforge text chunk is not valid JSON") from None
    if not isinstance(rec, dict):
        raise UserError("PNG info: the pixelforge text chunk is not a JSON object")
    return GenerationParams(
        model=_typed(rec, "model", str), model_hash=_typed(rec, "model_hash", str),
        seed=_typed(rec, "seed", int), count=_typed(rec, "count", int),
        truncation=_typed(rec, "truncation", float, optional=True),
        label=_typed(rec, "label", int, optional=True),
        pixelforge_version=str(rec.get("pixelforge_version", "")))
