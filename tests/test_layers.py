"""The package's layering: which top-level part may import which (docs/architecture.md, "Layers"),
enforced over every module's imports (function-local ones too), no import circle between any two
modules, and inference without training."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "pixelforge"

# Every part may also import the package root (`from pixelforge import __version__`), `errors`,
# `registry` and `kinds` (the model-kind declarations). Anything not listed is forbidden; keep this table and the docs' table in step.
BASE = {"errors", "registry", "kinds"}
LAYERS: dict[str, set[str]] = {
    "errors": set(),
    "registry": set(),
    "kinds": set(),
    "core": set(),
    "rundir": {"core"},
    "configs": set(),
    "nn": {"core"},
    "losses": {"core"},
    "augment": {"core"},
    "models": {"core", "nn", "losses"},
    "data": {"core"},
    "config": {"core", "losses", "models", "configs"},
    "checkpoint": {"core", "models", "rundir"},
    "pipelines": {"core", "nn", "models", "checkpoint", "data"},
    "api": {"core", "models", "checkpoint", "pipelines"},
    "files": {"core", "checkpoint", "data", "pipelines"},
    "runs": {"core", "checkpoint", "rundir"},
    "metrics": {"core", "nn", "models", "losses", "data", "checkpoint", "pipelines", "baselines",
                "rundir"},
    "baselines": {"core", "data"},
    "recipes": {"core", "config", "models", "data"},
    "training": {"core", "nn", "models", "losses", "augment", "data", "config", "checkpoint",
                 "pipelines", "metrics", "recipes", "rundir"},
    "studio": {"core", "models", "pipelines", "checkpoint", "api", "runs", "configs", "rundir",
               "files", "config"},
    "cli": {"core", "nn", "models", "losses", "augment", "data", "config", "checkpoint",
            "pipelines", "metrics", "training", "api", "runs", "recipes", "baselines", "studio",
            "configs", "rundir", "files"},
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


def module_name(path: Path, pkg: Path) -> str:
    """src/pixelforge/studio/app.py -> 'pixelforge.studio.app' (a package: its __init__)."""
    parts = (pkg.name, *path.relative_to(pkg).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph(pkg: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports (any depth, function-local too). `from a import
    b` points at module a.b when b is a module, else at a; the package root is left out (every
    part may read `__version__` from it, the layer table's exemption)."""
    files = {module_name(p, pkg): p for p in sorted(pkg.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against the file's package
                    up = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                    base = f"{up}.{base}" if base else up
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base
                           for a in node.names]
            else:
                continue
            for mod in targets:
                while mod and mod not in files:  # `import a.b.c` where c is a name in a.b
                    mod = mod.rpartition(".")[0]
                if mod and mod not in (name, pkg.name):
                    edges.add(mod)
        graph[name] = edges
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle [a, b, ..., a] per group of modules that import each other (Tarjan's strongly
    connected components, then a shortest way back to the group's first module)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # the graph is ~200 modules deep at most: recursion is fine
        order[v] = low[v] = len(order)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while group[-1:] != [v]:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in order:
            visit(v)
    return [_cycle_through(g[0], set(g), graph) for g in groups]


def _cycle_through(start: str, group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest import path start -> ... -> start inside one strongly connected group."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    return [start]


def test_no_import_circle_anywhere():
    """No module reaches itself through imports (the studio's app and pages included)."""
    cycles = import_cycles(module_graph(PKG))
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_catches_a_circle(tmp_path):
    """A function-local import closing a circle is found (the check can fail), and a package
    __init__ importing its own submodules is not one."""
    fake = tmp_path / "pixelforge"
    (fake / "studio").mkdir(parents=True)
    (fake / "__init__.py").write_text("from pixelforge.studio import app\n")
    (fake / "studio" / "__init__.py").write_text("")
    (fake / "studio" / "app.py").write_text("from pixelforge import __version__\n"
                                            "from pixelforge.studio.pages import build\n")
    (fake / "studio" / "pages.py").write_text("from .util import helper\n")
    (fake / "studio" / "util.py").write_text("def helper():\n"
                                             "    from pixelforge.studio.app import x\n")
    graph = module_graph(fake)
    assert graph["pixelforge.studio.pages"] == {"pixelforge.studio.util"}
    assert import_cycles(graph) == [["pixelforge.studio.app", "pixelforge.studio.pages",
                                     "pixelforge.studio.util", "pixelforge.studio.app"]]
    (fake / "studio" / "util.py").write_text("def helper():\n    return 1\n")
    assert import_cycles(module_graph(fake)) == []


# The run folder's names are spelled in pixelforge/rundir.py only (issue 19): everyone else asks
# RunDir (or its constants). Literals equal to one of these, path-like literals (no spaces, with a
# '/') holding one as a component, `step-` names, and `x / "samples"` count; prose does not.
RUN_FOLDER_MODULE = Path("rundir.py")
RUN_FOLDER_NAMES = {"config.yaml", "meta.json", "train_log.jsonl", "metrics.jsonl", "checkpoints",
                    "tensorboard", "latest"}


def _spells_run_folder_name(text: str) -> bool:
    if text in RUN_FOLDER_NAMES:
        return True
    if any(c.isspace() for c in text):
        return False
    parts = text.split("/")
    return text.startswith("step-") or (len(parts) > 1 and any(
        p in RUN_FOLDER_NAMES or p == "samples" or p.startswith("step-") for p in parts))


def run_folder_spellings(pkg: Path) -> list[str]:
    """file:line of every string literal outside rundir.py spelling a run-folder name
    (docstrings excepted)."""
    bad = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg)
        if rel == RUN_FOLDER_MODULE:
            continue
        tree = ast.parse(path.read_text(), str(path))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                        ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr)
                      and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) \
                    and isinstance(node.right, ast.Constant) and node.right.value == "samples":
                bad.append(f"{rel}:{node.lineno} joins 'samples'")
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) not in docstrings and _spells_run_folder_name(node.value):
                bad.append(f"{rel}:{node.lineno} spells {node.value!r}")
    return bad


def test_only_rundir_spells_run_folder_names():
    assert run_folder_spellings(PKG) == []


def test_the_run_folder_check_can_fail(tmp_path):
    """A module joining a run-folder name by hand, or formatting a step folder, is caught."""
    (tmp_path / "cli").mkdir()
    (tmp_path / "rundir.py").write_text('CONFIG = "config.yaml"\n')
    (tmp_path / "cli" / "bad.py").write_text(
        '"""Reads metrics.jsonl (prose is fine)."""\n'
        'def f(run, step):\n'
        '    return run / "checkpoints" / f"step-{step:07d}", run / "samples", "a/train_log.jsonl"\n')
    found = sorted(run_folder_spellings(tmp_path))
    assert found == ["cli/bad.py:3 joins 'samples'", "cli/bad.py:3 spells 'a/train_log.jsonl'",
                     "cli/bad.py:3 spells 'checkpoints'", "cli/bad.py:3 spells 'step-'"]


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
