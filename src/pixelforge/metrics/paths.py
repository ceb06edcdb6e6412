"""Where metric caches live: $PIXELFORGE_CACHE, else ~/.cache/pixelforge (XDG-style user cache)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "PIXELFORGE_CACHE"


def cache_root() -> Path:
    """The cache folder, read from the environment at call time (tests point it elsewhere)."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path("~/.cache/pixelforge").expanduser()


def extractors_dir() -> Path:
    return cache_root() / "extractors"


def stats_dir() -> Path:
    return cache_root() / "real-stats"
