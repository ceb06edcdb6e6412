"""API parameter names -> CLI flags: UserErrors raised with a `field` speak the API's language
(`tile=-1: ...`, `pass overwrite=True`); the CLI shows them in its own (`--tile -1: ...`,
`pass --overwrite`)."""

from __future__ import annotations

import re

from pixelforge.errors import UserError

FLAGS = {
    "fmt": "--format", "out_dir": "--out", "out": "--out", "path": "--out",
    "overwrite": "--overwrite", "skip_bad": "--skip-bad", "tile": "--tile",
    "tile_pad": "--tile-pad", "frames": "--frames", "n": "--n", "per_image": "--per-image",
    "direction": "--direction", "scale": "--scale", "precision": "--precision",
    "max_memory": "--max-memory", "mask": "--mask", "box": "--box", "model": "--model",
    "encoding": "--format",
}


def flag_of(param: str) -> str:
    """'tile_pad' -> '--tile-pad' (or the flag FLAGS names)."""
    return FLAGS.get(param, "--" + param.replace("_", "-"))


def cli_message(exc: UserError) -> str:
    """The error's text with API parameter spellings turned into CLI flags (only for errors that
    declare a field; other messages are already written for every caller)."""
    text = str(exc)
    if getattr(exc, "field", None) is None:
        return text
    names = sorted(set(FLAGS) | {exc.field}, key=len, reverse=True)
    for name in names:
        flag = flag_of(name)
        lead = rf"(?<![\w.\-'\"]){re.escape(name)}="
        text = re.sub(lead + r"True\b", flag, text)  # pass overwrite=True -> pass --overwrite
        text = re.sub(lead + r"(?=[\s,;)]|$)", flag, text)  # an out= folder -> an --out folder
        text = re.sub(lead + r"(?!=)", flag + " ", text)  # tile=-1 -> --tile -1
    return text
