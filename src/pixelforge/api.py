"""The one-call Python API: `pixelforge.load(path)` returns the checkpoint's inference pipeline.

    pipe = pixelforge.load("runs/mine")          # e.g. a GeneratePipeline
    images = pipe.generate(16, seed=0)           # [16, C, H, W] in [-1, 1]
    g = pixelforge.load("runs/mine", component="generator")   # one network
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pixelforge.pipelines.base import load_pipeline


def load(path: str | Path, *, component: str | None = None, map_location: str = "cpu") -> Any:
    """Load a run folder (its latest checkpoint) or a checkpoint folder.

    Returns the pipeline named in the checkpoint's model_index.json (for a folder holding one
    network that no pipeline runs, e.g. a discriminator, that network), or with `component`
    the one network of that name. Every load failure is a UserError naming the file."""
    return load_pipeline(path, component=component, map_location=map_location)
