"""Validated load options shared by every image source, so no source re-checks user input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pixelforge.errors import UserError

SPLITS = ("train", "test")
RESIZE_FILTERS = ("bicubic", "bilinear", "lanczos", "nearest")

# Sources whose resized uint8 images fit under this many bytes are decoded once, up front;
# larger ones are decoded lazily per item. Read at call time, so tests may monkeypatch it.
PRELOAD_LIMIT_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class LoadOptions:
    """What every source must produce: square `image_size` images with `channels` channels."""

    image_size: int
    channels: int
    split: str = "train"
    limit: int | None = None
    resize_filter: str = "bicubic"

    def __post_init__(self) -> None:
        if not _is_int(self.image_size) or self.image_size < 1:
            raise UserError(f"image_size must be a positive integer, not {self.image_size!r}")
        if self.channels not in (1, 3) or not _is_int(self.channels):
            raise UserError(f"channels must be 1 (grayscale) or 3 (RGB), not {self.channels!r}")
        if self.split not in SPLITS:
            raise UserError(f"split must be one of {', '.join(SPLITS)}, not {self.split!r}")
        if self.limit is not None and (not _is_int(self.limit) or self.limit < 1):
            raise UserError(f"limit must be a positive integer or None, not {self.limit!r}")
        if self.resize_filter not in RESIZE_FILTERS:
            raise UserError(
                f"resize_filter must be one of {', '.join(RESIZE_FILTERS)}, "
                f"not {self.resize_filter!r}"
            )

    @property
    def target(self) -> str:
        """The output shape as `HxWxC`, for descriptions."""
        return f"{self.image_size}x{self.image_size}x{self.channels}"

    def take(self, available: int) -> int:
        """How many images to use out of `available` (the first N after sorting)."""
        return available if self.limit is None else min(self.limit, available)

    def fits_in_memory(self, count: int) -> bool:
        """True when `count` resized uint8 images fit under the preload limit."""
        return count * self.channels * self.image_size**2 <= PRELOAD_LIMIT_BYTES

    def as_dict(self) -> dict[str, object]:
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "split": self.split,
            "limit": self.limit,
            "resize_filter": self.resize_filter,
        }


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def side_channels(cfg: Any) -> tuple[int | None, int | None]:
    """(channels of set A = data.path, of set B = data.path_b) for image-to-image data: the
    input side of data.direction has model.params.in_channels (unset: as the output), the output
    side model.channels, so a gray A and a colour B train a 1 -> 3 channel model."""
    out = cfg.model.channels
    inp = (getattr(cfg.model, "params", None) or {}).get("in_channels", out)
    inp = int(inp) if inp is not None else None
    return (inp, out) if getattr(cfg.data, "direction", "a2b") == "a2b" else (out, inp)
