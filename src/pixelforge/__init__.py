"""pixelforge: train, sample, evaluate and share neural image generators.

`import pixelforge` is cheap (no torch): `pixelforge.load` and the subpackages are imported on
first use (module `__getattr__`, PEP 562), so the CLI's --help and light verbs stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports on use
    from pixelforge.api import load

_LAZY = {"load": "pixelforge.api"}  # public name -> module that defines it

__all__ = ["__version__", "load"]


def __getattr__(name: str) -> Any:
    """`pixelforge.load` and `pixelforge.<subpackage>` (e.g. pixelforge.models), imported now."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists but something it imports does not
    raise AttributeError(f"module 'pixelforge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
