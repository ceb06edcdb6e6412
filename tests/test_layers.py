"""The package's layering: which top-level part may import which (docs/architecture.md, "Layers"),
enforced over every module's imports (function-local ones too), and inference without training."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "pixelforge"

# Every part may also import the package root (`from pixelforge import __version__`), `errors`
# and `registry`. Anything not listed is forbidden; keep this table and the docs' table in step.
BASE = {"errors", "registry"}
LAYERS: dict[str, set[str]] = {
    "errors": set(),
    "registry": set(),
    "core": set(),
    "nn": {"core"},
    "losses": {"core"},
    "augment": {"core"},
    "models": {"core", "nn", "losses"},
    "data": {"core", "models"},
    "config": {"core", "losses", "models"},
    "checkpoint": {"core", "models"},
    "pipelines": {"core", "nn", "models", "checkpoint", "data"},
    "api": {"core", "models", "checkpoint", "pipelines"},
    "runs": {"core", "checkpoint"},
    "metrics": {"core", "nn", "models", "losses", "data", "checkpoint", "pipelines", "baselines"},
    "baselines": {"core", "data"},
    "recipes": {"core", "config", "models", "data"},
    "training": {"core", "nn", "models", "losses", "augment", "data", "config", "checkpoint",
                 "pipelines", "metrics", "recipes"},
    "studio": {"core", "models", "pipelines", "checkpoint", "api", "runs"},
    "cli": {"core", "nn", "models", "losses", "augment", "data", "config", "checkpoint",
            "pipelines", "metrics", "training", "api", "runs", "recipes", "baselines", "studio"},
}
# third-party packages only the training side (and the CLI that starts it) may import
TRAINING_ONLY = {"tqdm", "accelerate"}
TRAINING_SIDE = {"training", "cli"}


def part_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, at any depth."""
    tree = ast.parse(path.read_text(), str(path))
    pkg = ".".join(("pixelforge", *path.relative_to(PKG).parent.parts))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod == "pixelforge":  # from pixelforge import x: x may be a part
                out += [(node.lineno, f"pixelforge.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, mod))
    return out


def violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        if path == PKG / "__init__.py":
            continue
        part = part_of(path)
        allowed = LAYERS.get(part)
        if allowed is None:
            bad.append(f"{path.relative_to(PKG)}: part {part!r} is missing from the layer table")
            continue
        for line, mod in imports_of(path):
            top = mod.split(".")
            if top[0] in TRAINING_ONLY and part not in TRAINING_SIDE:
                bad.append(f"{path.relative_to(PKG)}:{line} imports {mod} (training side only)")
            if top[0] != "pixelforge" or len(top) < 2:
                continue
            target = top[1]
            if target in (part, "__version__") or target in BASE or target in allowed:
                continue
            bad.append(f"{path.relative_to(PKG)}:{line} ({part}) imports {mod}")
    return bad


def test_every_import_follows_the_layer_table():
    assert violations() == []


def test_the_checker_catches_a_forbidden_import(tmp_path, monkeypatch):
    """The walk sees a function-local import of training from a model (the check can fail)."""
    fake = tmp_path / "pixelforge"
    (fake / "models").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "models" / "bad.py").write_text(
        "def f():\n    from pixelforge.training.task import Task\n    import tqdm\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    found = violations()
    assert any("models/bad.py:2 (models) imports pixelforge.training.task" in v for v in found)
    assert any("models/bad.py:3 imports tqdm" in v for v in found)


def test_docs_table_matches():
    """docs/architecture.md lists the same allowed imports as LAYERS."""
    doc = (PKG.parents[1] / "docs" / "architecture.md").read_text()
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip(" `") for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] in LAYERS:
            rows[cells[0]] = {c.strip(" `") for c in cells[1].split(",") if c.strip(" `-")}
    assert rows == LAYERS


# torch (torch.hub) and huggingface_hub (the models' PyTorchModelHubMixin) import tqdm themselves;
# the check is that pixelforge adds no training module, no accelerate and no further tqdm module.
ISOLATION = r"""
import sys
import torch
from huggingface_hub import PyTorchModelHubMixin
baseline = set(sys.modules)
import pixelforge.api, pixelforge.pipelines
from pixelforge.checkpoint import write_components
from pixelforge.models import MODELS

g = MODELS.get("dcgan").build("generator", image_size=16, channels=1, latent_dim=8, width=8)
write_components(sys.argv[1], {"generator": g.eval()}, model="dcgan", kind="gan",
                 pipeline="generate")
pipe = pixelforge.api.load(sys.argv[1])
images = pipe.generate(3, seed=0, precision="fp32")
assert images.shape == (3, 1, 16, 16), images.shape
new = set(sys.modules) - baseline
assert "pixelforge.pipelines.sampling" in new  # the probe itself works
bad = sorted(m for m in new
             if m.startswith("pixelforge.training") or m.split(".")[0] in ("tqdm", "accelerate"))
print("LOADED:" + ",".join(bad))
"""


@pytest.mark.slow
def test_inference_never_imports_training(tmp_path):
    out = subprocess.run([sys.executable, "-c", ISOLATION, str(tmp_path / "ckpt")],
                         capture_output=True, text=True, timeout=120,
                         env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "LOADED:"
