"""The run folder's layout (pixelforge.rundir): names, the `latest` pointer as the one answer for
the current checkpoint, and what a real training writes where RunDir says."""

from __future__ import annotations

import pytest

from pixelforge.checkpoint import latest_checkpoint
from pixelforge.config import build_config
from pixelforge.errors import UserError
from pixelforge.rundir import RunDir, step_name, step_of


def test_step_names_sort_by_step_and_parse_back():
    names = [step_name(s) for s in (10, 9, 1500, 0)]
    assert names == ["step-0000010", "step-0000009", "step-0001500", "step-0000000"]
    assert sorted(names) == [step_name(s) for s in (0, 9, 10, 1500)]
    assert [step_of(n) for n in names] == [10, 9, 1500, 0]
    assert step_of("step-0000012.png") == 12 and step_of("step-0000012.tmp") == 12
    assert step_of("recon-step-0000012.png") is None and step_of("latest") is None


def test_latest_is_the_pointer_not_the_newest_folder(tmp_path):
    """After a crash between renaming step-6 into place and pointing `latest` at it, the run's
    checkpoint is still step-3 (what --resume continues from), though step-6 is newer."""
    run = RunDir(tmp_path / "run")
    assert run.latest_target() is None and not run.holds_run()
    for step in (3, 6):
        run.step_dir(step).mkdir(parents=True)
    run.temp_dir(9).mkdir()
    assert [p.name for p in run.step_dirs()] == ["step-0000003", "step-0000006"]
    run.latest_pointer.write_text("step-0000003\n")
    assert run.latest_target() == run.step_dir(3) and run.holds_run()
    for bad in ("", "../elsewhere", "/etc", ".."):
        run.latest_pointer.write_text(bad + "\n")
        with pytest.raises(UserError, match="does not name a checkpoint folder"):
            run.latest_target()


def test_run_of_a_checkpoint(tmp_path):
    run = RunDir(tmp_path / "run")
    assert RunDir.of_checkpoint(run.step_dir(4)) == run.path
    assert RunDir.of_checkpoint(tmp_path / "exported") == tmp_path / "exported"


def test_a_training_writes_where_rundir_says(tmp_path, tiny_npz, tiny_overrides):
    from pixelforge.training import train

    run = RunDir(tmp_path / "run")
    res = train(build_config({}, tiny_overrides(tiny_npz, **{"train.steps": 3})), run.path,
                progress=False)
    assert res.checkpoint == run.step_dir(3) == latest_checkpoint(run.path) == run.latest_target()
    assert run.config.is_file() and run.train_log.is_file() and any(run.tensorboard.iterdir())
    assert run.latest_sample() == run.sample_grid(3)
    assert run.sample_grid(3, "recon") == run.samples / "recon-step-0000003.png"
    assert not run.metrics.exists()  # written by `pixelforge eval` only
