"""Tiny random-weight checkpoints of the five image-to-image verbs, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pixelforge.checkpoint import write_components
from pixelforge.cli.main import main
from pixelforge.models import MODELS

SPECS = {"denoise": ("dncnn", "denoiser", {"depth": 3, "width": 8}),
         "upscale": ("srresnet", "upscaler", {"scale": 2, "n_blocks": 1, "width": 8}),
         "inpaint": ("inpaint-unet", "inpainter", {"width": 8, "levels": 2})}


def _randomize(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return net.eval()


@pytest.fixture(scope="session")
def verb_models(tmp_path_factory) -> dict[str, Path]:
    """verb -> checkpoint folder of a tiny network (translate: a 1-block CycleGAN)."""
    root = tmp_path_factory.mktemp("verb_models")
    out = {}
    for kind, (name, role, kw) in SPECS.items():
        net = _randomize(MODELS.get(name).build(role, **kw))
        write_components(root / kind, {role: net}, model=name, kind=kind, pipeline=kind)
        out[kind] = root / kind
    fam = MODELS.get("cyclegan")
    gens = {n: _randomize(fam.build(n, width=4, n_blocks=1), i)
            for i, n in enumerate(("generator_ab", "generator_ba"))}
    write_components(root / "translate", gens, model="cyclegan", kind="translation",
                     pipeline="translate")
    out["translate"] = root / "translate"
    chroma = _randomize(MODELS.get("colorizer").build("generator", width=4, depth=3), 2)
    write_components(root / "colorize", {"generator_ab": chroma}, model="colorizer",
                     kind="colorize", pipeline="colorize")
    out["colorize"] = root / "colorize"
    return out


def verb_argv(verb: str, models: dict[str, Path], inputs: list[Path | str], out: Path,
              *extra: str) -> list[str]:
    """The command line of `verb` on `inputs` with the tiny model (inpaint: a small box)."""
    files = [str(p) for p in inputs]
    if verb == "translate":
        return ["translate", str(models[verb]), *files, "--out", str(out), "--direction", "a2b",
                *extra]
    args = [verb, *files, "--out", str(out), "--model", str(models[verb]), *extra]
    if verb == "upscale":
        args += ["--scale", "2"]
    if verb == "inpaint" and "--mask" not in extra:
        args += ["--box", "2,3,5,4"]
    return args


@pytest.fixture
def run_cli(capsys):
    """main(argv) -> (exit code, stdout, stderr)."""
    def run(argv: list[str]) -> tuple[int, str, str]:
        code = main(argv)
        cap = capsys.readouterr()
        return code, cap.out, cap.err
    return run


VERBS = ("denoise", "upscale", "inpaint", "translate", "colorize")
