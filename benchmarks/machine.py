"""The machine a benchmark ran on, as its results files record it."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any


def machine_info() -> dict[str, Any]:
    """CPU model and its bf16 features (lscpu), CPU count, torch version."""
    import torch

    text = ""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pass
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    return {"cpu_model": fields.get("Model name", platform.processor()).strip(),
            "avx512": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "amx": sorted(f for f in flags if f.startswith("amx")),
            "cpus": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()}
