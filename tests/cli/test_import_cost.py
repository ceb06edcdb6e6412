"""Import cost (issue 19 item 6): `import pixelforge` and `pixelforge --help` load no torch, and a
verb loads only what it uses. Checked by the modules a fresh process holds, not by timing
(benchmarks/import_time.py has the figures)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

# what a bare import or a --help never needs: the numeric stack, pydantic/yaml (configs), gradio
HEAVY = ("torch", "numpy", "PIL", "pydantic", "yaml", "gradio", "scipy", "safetensors",
         "huggingface_hub", "accelerate", "tqdm")
VERB_MODULES = ("pixelforge.cli.train", "pixelforge.cli.sample", "pixelforge.cli.studio",
                "pixelforge.cli.upscale", "pixelforge.cli.evaluate")

PROBE = r"""
import contextlib, io, json, sys
code = None
if sys.argv[1] == "import":
    import pixelforge
else:
    from pixelforge.cli.main import main
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(sys.argv[2:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules(*args: str, cwd=None) -> tuple[int | None, set[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         timeout=300, cwd=cwd, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_import_pixelforge_is_light():
    _, modules = _modules("import")
    assert "pixelforge" in modules  # the probe works
    assert _heavy(modules) == []
    assert sorted(m for m in modules if m.startswith("pixelforge.")) == []  # load, on first use


def test_pixelforge_load_still_works_on_first_use():
    import pixelforge

    assert callable(pixelforge.load) and pixelforge.load.__module__ == "pixelforge.api"


def test_top_level_help_imports_no_verb_and_no_torch():
    code, modules = _modules("cli", "--help")
    assert code == 0 and "pixelforge.cli.main" in modules
    assert _heavy(modules) == []
    assert [m for m in VERB_MODULES if m in modules] == []


def test_a_verbs_help_imports_that_verb_only():
    for verb, module in (("train", "pixelforge.cli.train"), ("sample", "pixelforge.cli.sample")):
        code, modules = _modules("cli", verb, "--help")
        assert code == 0 and module in modules
        assert [m for m in VERB_MODULES if m in modules and m != module] == []
        # typer itself imports pydantic to build any command; the rest stays out
        assert [m for m in _heavy(modules) if not m.startswith("pydantic")] == [], verb


def test_a_running_verb_imports_no_training_metrics_or_studio(tmp_path):
    """`pixelforge upscale` with the shipped model: inference only (no trainer, no metrics, no
    gradio, no other verb)."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    code, modules = _modules("cli", "--threads", "1", "upscale", "a.png", "--scale", "2",
                             "--out", "up", cwd=tmp_path)
    assert code == 0 and Image.open(tmp_path / "up" / "a.png").size == (20, 24)
    assert "torch" in modules and "pixelforge.cli.upscale" in modules  # it did run
    unused = sorted(m for m in modules if m.startswith(("pixelforge.training", "pixelforge.metrics",
                                                        "pixelforge.studio", "gradio",
                                                        "accelerate"))
                    or m in VERB_MODULES and m != "pixelforge.cli.upscale")
    assert unused == []


def test_the_verb_table_names_every_verb_module_and_each_builds():
    """A verb module left out of cli/verbs.py would vanish from the CLI; a wrong row fails here."""
    from pathlib import Path

    from pixelforge.cli.verbs import VERBS, build_verb

    cli = Path(__file__).resolve().parents[2] / "src" / "pixelforge" / "cli"
    with_register = {f"pixelforge.cli.{p.stem}" for p in cli.glob("*.py")
                     if "\ndef register(" in p.read_text()}
    assert with_register == {v.module for v in VERBS}
    for verb in VERBS:
        command = build_verb(verb)
        assert command.name == verb.name and command.short_help == verb.summary
        assert len(verb.summary) <= 66, verb.name  # one line in an 80-column --help
