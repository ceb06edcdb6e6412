"""Noise-to-image generation: the "generate" pipeline and streaming writers for `sample`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from pixelforge.core.images import grid_rows, save_grid, save_images
from pixelforge.errors import UserError
from pixelforge.models.base import Generator
from pixelforge.pipelines.base import Pipeline, register_pipeline
from pixelforge.pipelines.interpolate import interpolate, is_style_based, style_mix
from pixelforge.pipelines.sampling import DEFAULT_BATCH, generate_images, iter_generate

MAX_GRID_IMAGES = 1024  # a grid beyond this is unreadable and costly; per-image files stream

__all__ = ["MAX_GRID_IMAGES", "GeneratePipeline", "check_grid_size", "grid_rows", "save_grid",
           "save_images", "stream_images"]


def check_grid_size(n: int) -> None:
    """UserError when n images are too many for one grid image."""
    if n > MAX_GRID_IMAGES:
        raise UserError(f"n={n}: a grid holds at most {MAX_GRID_IMAGES} images; write one PNG "
                        "per image with per_image=True (or an out= folder ending in /), or ask "
                        "for fewer images", field="n")


def stream_images(chunks: Iterable[torch.Tensor], directory: str | Path,
                  prefix: str = "sample") -> int:
    """Write every chunk [b, C, H, W] as it arrives, one PNG per image; returns the count."""
    count = 0
    for chunk in chunks:
        count += len(save_images(chunk, directory, prefix=prefix, start=count))
    return count


@register_pipeline("generate")
class GeneratePipeline(Pipeline):
    """A generator (noise -> image): generate, stream and walk between seeds."""

    main_component = "generator"

    @property
    def generator(self) -> Generator:
        return self.model

    @property
    def image_size(self) -> int:
        """Side of the square images the generator makes, in pixels."""
        return int(self.generator.image_size)

    @property
    def channels(self) -> int:
        return int(self.generator.channels)

    @property
    def latent_dim(self) -> int:
        return int(self.generator.latent_dim)

    @property
    def num_classes(self) -> int:
        """Number of classes of a class-conditional generator; 0 when unconditional."""
        return int(getattr(self.generator, "num_classes", 0) or 0)

    @property
    def style_based(self) -> bool:
        """Whether style mixing applies (a mapping network and one style per layer)."""
        return is_style_based(self.generator)

    def generate(self, n: int, seed: int | None = 0, *, labels: Any = None,
                 truncation: float | None = None, batch_size: int = DEFAULT_BATCH,
                 output: str = "tensor", precision: str = "auto"):
        """n images [N, C, H, W] in [-1, 1] (or PIL images); see sampling.generate_images."""
        return generate_images(self.generator, n, seed, labels=labels, truncation=truncation,
                               batch_size=batch_size, output=output, precision=precision)

    def iter_generate(self, n: int, seed: int | None = 0, **kwargs: Any) -> Iterator[torch.Tensor]:
        """The same images as generate(), batch by batch (bounded memory for any n)."""
        return iter_generate(self.generator, n, seed, **kwargs)

    def interpolate(self, seed_a: int, seed_b: int, frames: int = 48, **kwargs: Any
                    ) -> torch.Tensor:
        """A latent walk [frames, C, H, W] from seed_a to seed_b, by slerp or lerp
        (see pipelines.interpolate.interpolate for the options)."""
        return interpolate(self.generator, seed_a, seed_b, frames, **kwargs)

    def style_mix(self, seed_a: int, seed_b: int, *, truncation: float | None = None,
                  label: int | None = None) -> torch.Tensor:
        """Style mixing from seed_a to seed_b, one frame per layer handed over (style-based
        generators only; see pipelines.interpolate.style_mix)."""
        return style_mix(self.generator, seed_a, seed_b, truncation=truncation, label=label)
