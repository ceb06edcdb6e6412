"""A model kind added in one file is a first-class kind (docs/architecture.md, "How to add a
model kind"). tests/training/cycle_kind.py declares a kind with two networks (a pair of tiny
generators A <-> B, an L1 cycle loss on unpaired data, a config section, an evaluator); loaded
with PIXELFORGE_PLUGINS, as a user would, it trains through the CLI, resumes bit-exactly,
translates, evaluates, shows in `pixelforge info` and in the studio's run lists, with no edit
anywhere else. Every command runs in its own process, so the test process's registries never
see the kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from pixelforge.checkpoint import latest_checkpoint, load_state
from pixelforge.data.spec import load_images

PLUGIN = Path(__file__).with_name("cycle_kind.py")
KIND = "test-cycle"


def _env(plugin: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PIXELFORGE_PLUGINS"}
    env["OMP_NUM_THREADS"] = "1"
    if plugin:
        env["PIXELFORGE_PLUGINS"] = str(PLUGIN)
    return env


def _run(args: list[str], plugin: bool = True) -> subprocess.CompletedProcess:
    """`python -m pixelforge.cli.main ARGS` in a fresh process (ended by the timeout at worst)."""
    return subprocess.run([sys.executable, "-m", "pixelforge.cli.main", *args],
                          capture_output=True, text=True, timeout=600, env=_env(plugin))


def _ok(args: list[str]) -> str:
    out = _run(args)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny_npz) -> dict[str, Path]:
    """A: 96 digits; B: 40 other digits, inverted (a mapping a tiny network can learn); eval:
    train and test splits of held-out digits."""
    d = np.load(tiny_npz)
    root = tmp_path_factory.mktemp("unpaired")
    np.savez(root / "a.npz", x=d["x_train"][:96])
    np.savez(root / "b.npz", x=255 - d["x_train"][96:136])
    np.savez(root / "eval.npz", x_train=d["x_train"][136:200], x_test=d["x_test"][:48])
    return {"a": root / "a.npz", "b": root / "b.npz", "eval": root / "eval.npz"}


def _train_args(data, out: Path, steps: int, *extra: str, section: bool = True) -> list[str]:
    return ["train", "--out", str(out), "--model", KIND, "--data", str(data["a"]),
            "--data.path_b", str(data["b"]), "--model.image_size", "16", "--model.channels", "1",
            "--model.recipe", "none", "--train.batch_size", "16", "--steps", str(steps),
            "--train.lr_g", "3e-3", "--train.betas", "[0.9, 0.999]", "--train.log_every", "1",
            "--train.sample_every", "3", "--train.checkpoint_every", "3", "--train.n_samples",
            "4", "--train.precision", "fp32", *(["--cycle.weight", "0.5"] if section else []),
            *extra]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data) -> dict[str, Path]:
    """`full`: 6 steps; `part`: 3 steps, then --resume to 6 (one process each)."""
    root = tmp_path_factory.mktemp("runs")
    _ok(_train_args(data, root / "full", 6))
    _ok(_train_args(data, root / "part", 3))
    _ok(_train_args(data, root / "part", 6, "--resume"))
    return {"root": root, "full": root / "full", "part": root / "part"}


def _logs(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


def _translator(weights: Path):
    """The reference: the plugin's two-convolution network, applied from its safetensors."""
    w = load_file(str(weights))

    def apply(x: torch.Tensor) -> torch.Tensor:
        h = F.silu(F.conv2d(x, w["net.0.weight"], w["net.0.bias"], padding=1))
        return torch.tanh(F.conv2d(h, w["net.2.weight"], w["net.2.bias"], padding=1))
    return apply


def test_trains_with_its_config_section_and_checkpoints_both_networks(runs):
    run = runs["full"]
    cycle = [r["cycle"] for r in _logs(run)]
    assert len(cycle) == 6 and cycle[-1] < 0.9 * cycle[0]  # it learns
    ckpt = latest_checkpoint(run)
    index = json.loads((ckpt / "model_index.json").read_text())
    assert (index["model"], index["kind"], index["pipeline"]) == (KIND, KIND, "translate")
    assert set(index["components"]) == {"generator_ab", "generator_ba"}
    assert "weight: 0.5" in (run / "config.yaml").read_text()  # the kind's own section
    assert (run / "samples" / "step-0000006.png").is_file()  # the Task's preview grid
    state = load_state(ckpt / "training_state.safetensors")["task"]
    saved = load_file(str(ckpt / "generator_ab" / "model.safetensors"))
    assert all(torch.equal(v, state["G_ab"][k]) for k, v in saved.items())


@pytest.mark.slow
def test_resumes_bit_exactly(runs):
    a = load_state(latest_checkpoint(runs["full"]) / "training_state.safetensors")["task"]
    b = load_state(latest_checkpoint(runs["part"]) / "training_state.safetensors")["task"]
    for net in ("G_ab", "G_ba"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    assert [r["cycle"] for r in _logs(runs["full"])] == [r["cycle"] for r in _logs(runs["part"])]


def test_translates_evaluates_and_shows_in_info(runs, data, tmp_path):
    run, ckpt = runs["full"], latest_checkpoint(runs["full"])
    x = np.load(data["a"])["x"][0].reshape(28, 28)  # a 28 x 28 digit
    Image.fromarray(x).save(tmp_path / "digit.png")
    _ok(["translate", str(run), str(tmp_path / "digit.png"), "--direction", "a2b",
         "--precision", "fp32", "--out", str(tmp_path / "out")])
    got = np.asarray(Image.open(tmp_path / "out" / "digit.png").convert("L")).astype(float)
    ab = _translator(ckpt / "generator_ab" / "model.safetensors")
    ref = ab(torch.from_numpy(x).float()[None, None] / 127.5 - 1)[0, 0]
    assert np.abs(got - ((ref.numpy() + 1) * 127.5)).max() <= 1.0  # 8-bit rounding only

    scores = json.loads(_ok(["eval", str(run), "--data", str(data["eval"]), "--json"]))
    ba = _translator(ckpt / "generator_ba" / "model.safetensors")
    real = load_images(data["eval"], image_size=16, channels=1, split="test")  # declared split
    xs = torch.stack([real[i][0] for i in range(len(real))])
    assert scores["cycle_l1"] == pytest.approx(float((ba(ab(xs)) - xs).abs().mean()), abs=1e-5)
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["metric"] == "cycle_l1" and record["split"] == "test"

    info = json.loads(_ok(["info", str(run), "--json"]))
    assert (info["model"], info["kind"], info["pipeline"]) == (KIND, KIND, "translate")
    assert set(info["components"]) == {"generator_ab", "generator_ba"}


STUDIO = """
import json, sys
from pathlib import Path
from pixelforge.studio.context import Studio, StudioConfig
from pixelforge.studio.pages_explore import runs_table
studio = Studio(StudioConfig(runs=Path(sys.argv[1])))
table = runs_table(studio)  # the Gallery's table
print(json.dumps({"restore": studio.model_choices("restore"),
                  "generate": studio.model_choices("generate"),
                  "kinds": dict(zip(table["run"], table["kind"], strict=True))}))
"""


def test_shows_in_the_studio(runs):
    out = subprocess.run([sys.executable, "-c", STUDIO, str(runs["root"])], capture_output=True,
                         text=True, timeout=600, env=_env())
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["kinds"] == {"full": KIND, "part": KIND}
    assert sorted(seen["restore"]) == ["full", "part"]  # the page its declaration names
    assert seen["generate"] == []


def test_without_the_plugin_the_kind_is_unknown(data, tmp_path):
    """The control: the same command without PIXELFORGE_PLUGINS is refused as bad input."""
    out = _run(_train_args(data, tmp_path / "run", 3, section=False), plugin=False)
    assert out.returncode == 2, out.stderr[-2000:]
    assert f"unknown model '{KIND}'" in out.stderr
