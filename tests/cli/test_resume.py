"""`pixelforge train --resume` as a job script uses it (issue 22, item 3): passed on every start,
it trains from step 0 when the run folder holds no checkpoint yet (a first start, or a kill that
landed before the first checkpoint), and refuses only a folder that holds another run."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pixelforge.checkpoint import latest_checkpoint
from pixelforge.cli.main import main
from pixelforge.config import build_config, dump_config
from pixelforge.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]
CRASH_CHILD = ROOT / "tests" / "training" / "_crash_child.py"  # SIGKILLs itself on cue
TINY = {"model.name": "seed-dcgan", "model.image_size": 16, "model.channels": 1,
        "model.latent_dim": 16, "train.batch_size": 16, "train.steps": 4, "train.log_every": 1,
        "train.sample_every": 4, "train.checkpoint_every": 4, "train.n_samples": 4,
        "train.precision": "fp32", "model.recipe": "none"}
NOTICE = "holds no checkpoint yet; starting from step 0"


def _args(data: Path) -> list[str]:
    return ["--quiet", "--data", str(data), *[a for k, v in TINY.items() for a in (f"--{k}", str(v))]]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(latest_checkpoint(run) / "generator" / "model.safetensors"))


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, tiny_npz) -> dict[str, torch.Tensor]:
    """The weights of the same training started without --resume (the reference)."""
    run = tmp_path_factory.mktemp("fresh") / "run"
    assert main(["train", "--out", str(run), *_args(tiny_npz)]) == 0
    return _weights(run)


def test_first_start_with_resume_trains_from_step_0(tmp_path, tiny_npz, fresh, caplog):
    run = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="pixelforge.train"):
        assert main(["train", "--out", str(run), "--resume", *_args(tiny_npz)]) == 0
    notices = [r.getMessage() for r in caplog.records if NOTICE in r.getMessage()]
    assert notices == [f"--resume: {run} {NOTICE}"]
    assert latest_checkpoint(run).name == "step-0000004"
    _assert_same_weights(_weights(run), fresh)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pixelforge.train"):  # the next start continues
        assert main(["train", "--out", str(run), "--resume", "--quiet", "--steps", "5"]) == 0
    assert not [r for r in caplog.records if NOTICE in r.getMessage()]
    assert latest_checkpoint(run).name == "step-0000005"


@pytest.mark.slow
def test_kill_before_the_first_checkpoint_then_resume(tmp_path, tiny_npz, fresh):
    """SIGKILL after the 3rd optimizer step (mid step 2 of 4; the first checkpoint is at 4),
    then the same command line again: it trains from step 0 to the fresh run's weights."""
    run = tmp_path / "run"
    argv = [sys.executable, str(CRASH_CHILD), "train", "--out", str(run), "--resume",
            *_args(tiny_npz)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src"),
           "PF_CRASH_AT": "opt:3"}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert NOTICE in proc.stderr
    assert RunDir(run).config.is_file() and RunDir(run).train_log.is_file()  # it had started
    assert latest_checkpoint(run) is None
    assert main(["train", "--out", str(run), "--resume", *_args(tiny_npz)]) == 0
    assert latest_checkpoint(run).name == "step-0000004"
    _assert_same_weights(_weights(run), fresh)


def _other_run(folder: Path, data: Path) -> Path:
    """A run folder whose config.yaml (what the trainer writes first) is of another training."""
    overrides = {**TINY, "data.path": str(data)}
    RunDir(folder).path.mkdir(parents=True)
    RunDir(folder).write_config(dump_config(build_config({}, overrides)))
    return folder


@pytest.mark.parametrize("change,needle", [
    (["--model", "dcgan"], "model.name is 'seed-dcgan' in the saved run"),
    (["--model.latent_dim", "8"], "model.latent_dim is 16 in the saved run"),
    (["--data", "OTHER"], "data.path is "),
])
def test_resume_refuses_a_folder_holding_another_run(tmp_path, tiny_npz, capsys, change, needle):
    run = _other_run(tmp_path / "run", tiny_npz)
    other = tmp_path / "other.npz"
    other.write_bytes(tiny_npz.read_bytes())
    argv = ["train", "--out", str(run), "--resume", "--quiet",
            *[str(other) if a == "OTHER" else a for a in change]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: --resume: "), err
    assert needle in err and str(RunDir(run).config) in err
    assert not RunDir(run).checkpoints.exists()  # nothing started


def test_resume_with_the_same_data_by_another_path_is_the_same_run(tmp_path, tiny_npz):
    """The saved data.path written differently (relative, via a link) is still this run."""
    run = _other_run(tmp_path / "run", tiny_npz)
    link = tmp_path / "link.npz"
    link.symlink_to(tiny_npz)
    assert main(["train", "--out", str(run), "--resume", "--quiet", "--steps", "1",
                 "--train.checkpoint_every", "1", "--data", str(link)]) == 0
    assert latest_checkpoint(run).name == "step-0000001"
