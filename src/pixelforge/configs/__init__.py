"""The shipped recipes (YAML run configs) and how `--config NAME` finds one by name.

The files are package data (demo.yaml, mnist.yaml, cifar10.yaml and the folders gan/, vae/,
restoration/, translation/), so a wheel install has them too. A recipe's name is its path in
this folder without `.yaml`: `demo`, `gan/mnist_dcgan_sn`. The old checkout spelling
`configs/gan/mnist_dcgan_sn.yaml` resolves to the same recipe. Imports nothing heavy.
"""

from __future__ import annotations

import difflib
from importlib.resources import files
from pathlib import Path, PurePath

from pixelforge.errors import UserError

SUFFIXES = (".yaml", ".yml")
EXAMPLES = "demo, gan/mnist_dcgan_sn, restoration/upscale_x4"


def root() -> Path:
    """The folder holding the shipped recipes (inside the installed package)."""
    here = files(__name__)
    if not isinstance(here, Path):  # a zipped import; pip always unpacks a wheel
        raise RuntimeError(f"pixelforge's recipes are not on the file system ({here})")
    return here


def names() -> list[str]:
    """Every shipped recipe's name, sorted: 'cifar10', 'demo', 'gan/cifar10_dcgan', ..."""
    base = root()
    return sorted(p.relative_to(base).with_suffix("").as_posix() for p in base.rglob("*.yaml"))


def name_of(spec: str | PurePath) -> str:
    """The recipe name a --config value spells: no suffix, nothing up to a `configs/` folder
    ('configs/gan/x.yaml', '/old/checkout/configs/gan/x.yaml' and 'gan/x' all give 'gan/x')."""
    parts = [p for p in PurePath(spec).parts if p not in (".", "")]
    if "configs" in parts:
        parts = parts[len(parts) - parts[::-1].index("configs"):]
    name = "/".join(parts)
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def find(spec: str | PurePath) -> Path:
    """The YAML file a --config value means: a file that exists as given, else the shipped
    recipe of that name; anything else is a one-line UserError naming the close names."""
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        raise UserError(f"config {str(spec)!r} is a folder; give a YAML file or a recipe name "
                        f"such as {EXAMPLES}")
    name = name_of(spec)
    known = names()
    if name in known:
        return root() / f"{name}.yaml"
    raise UserError(f"config {str(spec)!r} not found: no such file and no shipped recipe of "
                    f"that name; {_suggest(name, known)}")


def _suggest(name: str, known: list[str]) -> str:
    """'did you mean a, b?' from whole names and from the last part alone, else what exists."""
    close = difflib.get_close_matches(name, known, n=4, cutoff=0.6)
    tail = name.rsplit("/", 1)[-1]
    by_tail = [k for k in known if k.rsplit("/", 1)[-1] in
               difflib.get_close_matches(tail, [n.rsplit("/", 1)[-1] for n in known], cutoff=0.7)]
    close = list(dict.fromkeys(close + by_tail))[:4]
    if close:
        return f"did you mean {', '.join(close)}?"
    top = [k for k in known if "/" not in k]
    folders = sorted({k.split("/", 1)[0] + "/" for k in known if "/" in k})
    return (f"shipped recipes: {', '.join(top)} and the folders {', '.join(folders)} "
            "('pixelforge train --help' lists them all)")


def listing() -> str:
    """The shipped recipes grouped by folder, one line each, for --help."""
    groups: dict[str, list[str]] = {}
    for name in names():
        folder, _, leaf = name.rpartition("/")
        groups.setdefault(folder, []).append(leaf)
    return "\n\n".join(f"  {folder + '/' if folder else '(top)'}: {', '.join(leaves)}"
                        for folder, leaves in groups.items())
