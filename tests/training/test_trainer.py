"""The one trainer: trains, checkpoints atomically, resumes exactly, stops cleanly on Ctrl-C/NaN."""

import json
import os
import signal

import pytest
import torch

from pixelforge.checkpoint import latest_checkpoint, load_state
from pixelforge.config import build_config
from pixelforge.errors import TrainingDiverged, UserError
from pixelforge.training import Interrupted, train
from pixelforge.training.gan import GANTask


def _losses(run):
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_trains_and_writes_run_folder(tmp_path, tiny_npz, tiny_overrides):
    run = tmp_path / "run"
    res = train(build_config({}, tiny_overrides(tiny_npz)), run, progress=False)
    assert res.step == 6
    assert res.checkpoint == run / "checkpoints" / "step-0000006"
    for f in ("model_index.json", "generator/config.json", "generator/model.safetensors",
              "training_state.safetensors", "meta.json"):
        assert (res.checkpoint / f).is_file(), f
    index = json.loads((res.checkpoint / "model_index.json").read_text())
    assert (index["model"], index["kind"], index["pipeline"]) == ("seed-dcgan", "gan", "generate")
    assert index["components"] == {"generator": "generator"}
    assert (run / "config.yaml").is_file()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-0000003.png", "step-0000006.png"]
    assert list((run / "tensorboard").iterdir())
    logs = _losses(run)
    assert [r["step"] for r in logs] == list(range(1, 7))
    assert all(r["images_per_s"] > 0 for r in logs)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_exact_resume(tmp_path, tiny_npz, tiny_overrides, precision):
    """Stopping at step 3 and resuming gives the same losses and weights at step 6.

    'auto' is bf16 + channels_last on AMX CPUs, where a stride mismatch between restored optimizer
    state and channels_last parameters once broke exactness (see training/optim.py).
    """
    full, part = tmp_path / "full", tmp_path / "part"
    ov = tiny_overrides(tiny_npz, **{"train.precision": precision})
    train(build_config({}, ov), full, progress=False)
    train(build_config({}, {**ov, "train.steps": 3}), part, progress=False)
    train(build_config({}, ov), part, resume=True, progress=False)
    a = load_state(latest_checkpoint(full) / "training_state.safetensors")
    b = load_state(latest_checkpoint(part) / "training_state.safetensors")
    assert a["step"] == b["step"] == 6
    for net in ("G", "D", "ema"):
        for k, v in a["task"][net].items():
            assert torch.equal(v, b["task"][net][k]), f"{net}.{k} differs after resume"
    la = [(r["loss_d"], r["loss_g"]) for r in _losses(full)]
    lb = [(r["loss_d"], r["loss_g"]) for r in _losses(part)]
    assert la == lb


def test_resume_without_checkpoint_starts_from_step_0(tmp_path, tiny_npz, tiny_overrides,
                                                      caplog):
    """--resume on a run with no checkpoint yet (a first start, a kill before the first one)
    trains from step 0 exactly as a fresh start would, saying so in one line."""
    cfg = build_config({}, tiny_overrides(tiny_npz, **{"train.steps": 3}))
    fresh = train(cfg, tmp_path / "fresh", progress=False)
    with caplog.at_level("INFO", logger="pixelforge.train"):
        resumed = train(cfg, tmp_path / "empty", resume=True, progress=False)
    notices = [r.getMessage() for r in caplog.records if "holds no checkpoint yet" in r.getMessage()]
    assert notices == [f"--resume: {tmp_path / 'empty'} holds no checkpoint yet; starting from step 0"]
    assert fresh.step == resumed.step == 3
    a = load_state(fresh.checkpoint / "training_state.safetensors")["task"]
    b = load_state(resumed.checkpoint / "training_state.safetensors")["task"]
    for k, v in a["G"].items():
        assert torch.equal(v, b["G"][k]), k


def test_resume_takes_a_changed_learning_rate(tmp_path, tiny_npz, tiny_overrides, caplog):
    """`--resume --train.lr_g X` (a step decay) trains on at X: the restored Adam state used to
    keep the saved rate and ignore the override. lr_d, unchanged, stays as saved."""
    ov = tiny_overrides(tiny_npz, **{"train.steps": 3, "train.lr_g": 2e-4, "train.lr_d": 3e-4})
    run = tmp_path / "run"
    train(build_config({}, ov), run, progress=False)
    with caplog.at_level("INFO", logger="pixelforge.train"):
        train(build_config({}, {**ov, "train.steps": 5, "train.lr_g": 5e-5}), run, resume=True,
              progress=False)
    task = load_state(latest_checkpoint(run) / "training_state.safetensors")["task"]
    assert [g["lr"] for g in task["opt_g"]["param_groups"]] == [pytest.approx(5e-5)]
    assert [g["lr"] for g in task["opt_d"]["param_groups"]] == [pytest.approx(3e-4)]
    assert any("train.lr_g 0.0002 -> 5e-05" in r.getMessage() for r in caplog.records)


def test_resume_refuses_a_latest_pointer_to_nothing(tmp_path, tiny_npz, tiny_overrides):
    """A `latest` pointer naming no complete checkpoint is not "no checkpoint yet"."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "latest").write_text("step-0000003\n")
    with pytest.raises(UserError, match="points to .*step-0000003, which does not exist"):
        train(build_config({}, tiny_overrides(tiny_npz)), run, resume=True, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_mid_step_saves_that_step_and_resumes_bit_equal(
        tmp_path, tiny_npz, tiny_overrides, monkeypatch, signum):
    """A signal arriving inside step 4 (training/stop.py): the step finishes, its checkpoint is
    saved, Interrupted names the signal; --resume then ends bit-equal to an uninterrupted run."""
    full, run = tmp_path / "full", tmp_path / "run"
    ov = tiny_overrides(tiny_npz)
    train(build_config({}, ov), full, progress=False)
    real_step = GANTask.train_step

    def interrupting(self, batch, step):
        if step == 3:
            os.kill(os.getpid(), signum)
        return real_step(self, batch, step)

    monkeypatch.setattr(GANTask, "train_step", interrupting)
    # this test sets the disposition it needs: a runner started with SIGINT ignored would
    # otherwise keep it ignored in the trainer (as documented)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(Interrupted) as info:
            train(build_config({}, ov), run, progress=False)
    finally:
        signal.signal(signal.SIGINT, old)
    assert (info.value.step, info.value.signum, info.value.saved) == (4, signum, True)
    assert info.value.exit_code == 128 + signum
    assert latest_checkpoint(run).name == "step-0000004"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone again
    monkeypatch.setattr(GANTask, "train_step", real_step)
    res = train(build_config({}, ov), run, resume=True, progress=False)
    assert res.step == 6
    a = load_state(latest_checkpoint(full) / "training_state.safetensors")
    b = load_state(latest_checkpoint(run) / "training_state.safetensors")
    for net in ("G", "D", "ema"):
        for k, v in a["task"][net].items():
            assert torch.equal(v, b["task"][net][k]), f"{net}.{k} differs after resume"


def test_a_second_ctrl_c_stops_at_once_keeping_the_last_checkpoint(tmp_path, tiny_npz,
                                                                   tiny_overrides, monkeypatch):
    run = tmp_path / "run"
    real_step = GANTask.train_step

    def interrupting(self, batch, step):
        if step == 4:
            raise KeyboardInterrupt  # what the handler raises on a second Ctrl-C
        return real_step(self, batch, step)

    monkeypatch.setattr(GANTask, "train_step", interrupting)
    with pytest.raises(Interrupted) as info:
        train(build_config({}, tiny_overrides(tiny_npz)), run, progress=False)
    assert (info.value.step, info.value.saved) == (4, False)
    assert info.value.checkpoint.name == latest_checkpoint(run).name == "step-0000003"


def test_nan_stops_with_step_and_keeps_last_good(tmp_path, tiny_npz, tiny_overrides, monkeypatch):
    run = tmp_path / "run"
    real_step = GANTask.train_step

    def poisoned(self, batch, step):
        out = real_step(self, batch, step)
        if step == 4:
            out["loss_d"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(GANTask, "train_step", poisoned)
    with pytest.raises(TrainingDiverged, match=r"step 5.*loss_d=nan"):
        train(build_config({}, tiny_overrides(tiny_npz)), run, progress=False)
    assert latest_checkpoint(run).name == "step-0000003"
    assert not (run / "checkpoints" / "step-0000005").exists()


@pytest.mark.slow
def test_small_folder_trains_with_the_batch_capped(tmp_path, tiny_npz, tiny_overrides, caplog):
    """Issue 12 item 8: 40 images with train.batch_size 64 train; the batch is capped at the data
    size with a warning saying so, and the capped size is what the run's config records."""
    import logging

    import numpy as np
    import yaml
    from PIL import Image

    folder = tmp_path / "forty"
    folder.mkdir()
    digits = np.load(tiny_npz)["x_train"][:40, :, :, 0]
    for i, d in enumerate(digits):
        Image.fromarray(d).save(folder / f"{i:02d}.png")
    ov = tiny_overrides(folder, **{"train.batch_size": 64, "train.steps": 3,
                                   "train.checkpoint_every": 3})
    seen = []
    real_step = GANTask.train_step

    def recording(self, batch, step):
        seen.append(batch["image"].shape[0])
        return real_step(self, batch, step)

    GANTask.train_step = recording
    try:
        with caplog.at_level(logging.WARNING, logger="pixelforge.train"):
            res = train(build_config({}, ov), tmp_path / "run", progress=False)
    finally:
        GANTask.train_step = real_step
    assert res.step == 3 and seen == [40, 40, 40]
    assert "40 images, fewer than one batch" in caplog.text and "capped at 40" in caplog.text
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["batch_size"] == 40


@pytest.mark.parametrize("name,size", [("dcgan", 16), ("seed-dcgan", 16)])
def test_every_gan_family_trains_and_reloads(tmp_path, tiny_npz, tiny_overrides, name, size):
    import pixelforge

    ov = tiny_overrides(tiny_npz, **{"model.name": name, "model.image_size": size,
                                     "train.steps": 2, "train.checkpoint_every": 2})
    res = train(build_config({}, ov), tmp_path / name, progress=False)
    g = pixelforge.load(tmp_path / name)
    assert g.generate(4, seed=1).shape == (4, 1, size, size)
    assert torch.equal(g.generate(4, seed=1), pixelforge.load(res.checkpoint).generate(4, seed=1))
