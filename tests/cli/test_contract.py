"""The CLI contract of cli/main.py, run for real: exit codes 0/1/2/130, one `error:` line, hints."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from pixelforge.cli.main import main

EXE = [sys.executable, "-m", "pixelforge.cli.main"]


def as_args(overrides: dict) -> list[str]:
    return [x for key, value in overrides.items() for x in (f"--{key}", str(value))]


def _error_line(err: str) -> str:
    """The single `error:` line of a failed command (and no traceback anywhere)."""
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("argv,needles", [
    (["sample", "RUN", "--n", "0"], ["'--n'", "'0'", "'pixelforge sample --help'"]),
    (["sample", "RUN", "--n", "-5"], ["'--n'", "'-5'"]),
    (["sample", "RUN", "--n", "many"], ["'--n'", "many"]),
    (["interpolate", "RUN", "--frames", "1"], ["'--frames'", "'1'", "interpolate --help"]),
    (["decode", "RUN", "--codes", "x.npz"], ["--codes", "'pixelforge decode --help'"]),
    (["sampel"], ["sampel", "'pixelforge --help'"]),
    (["train"], ["--out", "'pixelforge train --help'"]),
    (["--threads", "0", "info", "RUN"], ["'--threads'", "'0'"]),
    (["info"], ["'checkpoint'", "info --help"]),
])
def test_usage_errors_exit_2_with_one_line(argv, needles, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    line = _error_line(captured.err)
    for needle in needles:
        assert needle in line
    assert captured.out == ""


def test_bare_pixelforge_prints_help_and_exits_0(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "Usage:" in out and "train" in out and "--threads" in out


@pytest.mark.slow
def test_usage_error_in_a_real_process():
    """The installed entry point as a process (slow only because the process imports torch)."""
    res = subprocess.run([*EXE, "sampel"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: no such command 'sampel'. Did you mean 'sample'? (see 'pixelforge --help')"]


def _boom(*args, **kwargs):
    raise RuntimeError("boom\nsecond line")


def test_unexpected_error_is_one_line_and_traceback_only_when_asked(monkeypatch, capsys):
    import pixelforge.cli.info as info

    monkeypatch.setattr(info, "resolve_checkpoint", _boom)
    monkeypatch.delenv("PIXELFORGE_DEBUG", raising=False)
    assert main(["info", "x"]) == 1
    line = _error_line(capsys.readouterr().err)
    assert "RuntimeError: boom second line" in line and "--debug" in line

    assert main(["--debug", "info", "x"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "_boom" in err

    monkeypatch.setenv("PIXELFORGE_DEBUG", "1")
    assert main(["info", "x"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_keyboard_interrupt_in_any_verb_exits_130(monkeypatch, capsys):
    import pixelforge.cli.info as info

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "resolve_checkpoint", interrupt)
    assert main(["info", "x"]) == 130
    assert _error_line(capsys.readouterr().err) == "error: interrupted"


def _start_trainer(run, data, ov: dict, sigint) -> subprocess.Popen:
    """`pixelforge train` as a process with the SIGINT disposition given here, not the runner's
    (`nohup make test &` starts every child with SIGINT ignored), in its own session so a Ctrl-C
    at the runner's terminal does not reach it."""
    def child_setup():
        signal.signal(signal.SIGINT, sigint)

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([*EXE, "train", "--out", str(run), "--quiet", "--data", str(data),
                             *as_args(ov)], stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, preexec_fn=child_setup)


def _wait_for_log_lines(proc: subprocess.Popen, run, n: int) -> None:
    log = run / "train_log.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= n:
            return
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read()
    raise AssertionError(f"no {n} log lines in 90 s")


def _end(proc: subprocess.Popen) -> None:
    """Whatever happened in the test: the trainer does not outlive it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)
    if proc.stderr:
        proc.stderr.close()


def _state(run) -> dict:
    from pixelforge.checkpoint import latest_checkpoint, load_state

    return load_state(latest_checkpoint(run) / "training_state.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize("sig,code,sigint", [
    (signal.SIGINT, 130, signal.SIG_DFL),  # Ctrl-C
    # SIGTERM (Slurm, Kubernetes, spot machines), to a trainer started with SIGINT ignored (a
    # background job): the ignored Ctrl-C stays ignored, SIGTERM still stops it gracefully
    (signal.SIGTERM, 143, signal.SIG_IGN),
])
def test_a_stop_signal_saves_a_checkpoint_and_resume_ends_bit_equal(tmp_path, tiny_npz,
                                                                     gan_overrides, sig, code,
                                                                     sigint):
    """A real signal to a training process: the step ends, a checkpoint is saved, the exit code
    is 128 + the signal; --resume then ends bit-equal to an uninterrupted run."""
    run, straight = tmp_path / "run", tmp_path / "straight"
    ov = {**gan_overrides, "train.steps": 100_000, "train.checkpoint_every": 100_000,
          "train.sample_every": 100_000}
    proc = _start_trainer(run, tiny_npz, ov, sigint)
    try:
        _wait_for_log_lines(proc, run, 3)
        if sigint is signal.SIG_IGN:
            proc.send_signal(signal.SIGINT)
            time.sleep(0.5)
            assert proc.poll() is None, "an ignored SIGINT stopped the trainer"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        _end(proc)
    assert proc.returncode == code, err
    line = _error_line(err)
    assert "checkpoint saved" in line and "--resume" in line
    step = int(_state(run)["step"])
    assert step >= 3 and f"step {step}" in line

    # one thread, as the child had: float sums differ with the thread count
    assert main(["--threads", "1", "train", "--out", str(run), "--quiet", "--resume", "--steps",
                 str(step + 2)]) == 0
    assert main(["--threads", "1", "train", "--out", str(straight), "--quiet", "--data", str(tiny_npz),
                 *as_args({**ov, "train.steps": step + 2})]) == 0
    a, b = _state(straight), _state(run)
    assert a["step"] == b["step"] == step + 2
    for net in ("G", "D", "ema"):
        for k, v in a["task"][net].items():
            assert torch.equal(v, b["task"][net][k]), f"{net}.{k} differs after the resume"


@pytest.mark.parametrize("extra,needle", [
    (["--model", "dcgn", "--model.params.widht", "3"], "'dcgn'"),
    (["--model", "dcgan", "--model.params.widht", "3"], "model.params.widht"),
    (["--model", "cnn"], "'cnn'"),
    (["--data", "/no/such/folder"], "/no/such/folder"),
    (["--data", "no-such-set"], "no-such-set"),
    (["--data", "DATAFILE"], "not a .npz"),
    (["--steps", "0"], "'--steps'"),
])
def test_dry_run_validates_what_train_would(tmp_path, capsys, extra, needle):
    (tmp_path / "notes.txt").write_text("hello")
    extra = [x.replace("DATAFILE", str(tmp_path / "notes.txt")) for x in extra]
    assert main(["train", "--out", str(tmp_path / "r"), "--dry-run", *extra]) == 2
    assert needle in _error_line(capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_dry_run_accepts_a_valid_config(tmp_path, tiny_npz, capsys):
    argv = ["train", "--out", str(tmp_path / "r"), "--dry-run", "--data", str(tiny_npz),
            "--model", "dcgan", "--model.params.width", "8", "--steps", "7"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "steps: 7" in out and "width: 8" in out
    assert not (tmp_path / "r").exists()


def test_info_skips_a_broken_metrics_line(gan_run, tmp_path, capsys, caplog):
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    good = {"metric": "fd", "value": 12.5, "step": 2}
    (run / "metrics.jsonl").write_text(json.dumps(good) + '\n{"metric": "kid", "val\n')
    assert main(["info", str(run), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["metrics"] == [good]
    warned = [r.getMessage() for r in caplog.records if "skipped line" in r.getMessage()]
    assert warned == [f"skipped line 2 of {run / 'metrics.jsonl'}: not JSON "
                      "(Unterminated string starting at)"]


def test_resume_with_a_changed_architecture_names_the_parameter(gan_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    assert main(["train", "--out", str(run), "--resume", "--steps", "4",
                 "--model.latent_dim", "32"]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "model.latent_dim is 16 in the saved run" in line and "32 now" in line
    cfg = tmp_path / "other.yaml"
    cfg.write_text("model:\n  name: seed-dcgan\n  latent_dim: 8\n")
    assert main(["train", "--out", str(run), "--resume", "--config", str(cfg)]) == 2
    assert "model.latent_dim is 16" in _error_line(capsys.readouterr().err)
    # the same value given again is no change: the run continues
    assert main(["train", "--out", str(run), "--resume", "--steps", "3", "--quiet",
                 "--model.latent_dim", "16"]) == 0


def test_interpolate_writes_an_mp4(gan_run, tmp_path, capsys):
    import imageio.v3 as iio

    out = tmp_path / "walk.mp4"
    assert main(["interpolate", str(gan_run), "--frames", "5", "--fps", "10", "--scale", "2",
                 "--out", str(out)]) == 0
    frames = iio.imread(out, plugin="FFMPEG")  # [T, H, W, 3]
    assert frames.shape == (8, 32, 32, 3)  # 5 there + 3 back; 16 px x 2
    gif = tmp_path / "walk.gif"
    assert main(["interpolate", str(gan_run), "--frames", "5", "--fps", "10", "--scale", "2",
                 "--out", str(gif)]) == 0
    ref = iio.imread(gif, index=None)[..., :3].astype(float)
    assert abs(frames.astype(float).mean() - ref.mean()) < 8  # same walk, lossy codec


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_option_and_env_set_torch_threads(gan_run, monkeypatch, restore_threads, capsys):
    import pixelforge.cli.threads as threads_module
    from pixelforge.cli.threads import available_cpus, default_threads

    torch.set_num_threads(2)
    assert main(["--threads", "1", "info", str(gan_run)]) == 0
    assert torch.get_num_threads() == 1
    monkeypatch.setenv("PIXELFORGE_THREADS", "2")
    assert main(["info", str(gan_run)]) == 0
    assert torch.get_num_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() is None  # torch already follows OMP_NUM_THREADS
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == min(available_cpus(), threads_module._torch_default[0])
    assert 1 <= available_cpus() <= len(os.sched_getaffinity(0))  # a cgroup quota may cap it


def test_resume_compares_an_unset_param_with_the_family_default(tmp_path):
    from pixelforge.cli.train import check_same_architecture
    from pixelforge.config import build_config, dump_config
    from pixelforge.errors import UserError

    saved = tmp_path / "config.yaml"
    saved.write_text(dump_config(build_config({"model": {"name": "dcgan", "image_size": 32}})))
    check_same_architecture({"model": {"params": {"width": 64}}}, saved)  # dcgan's default width
    with pytest.raises(UserError, match=r"model.params.width is 64 in the saved run .* but 8 now"):
        check_same_architecture({"model": {"params": {"width": 8}}}, saved)


def test_allocator_switch_reaches_the_trainer(tmp_path, monkeypatch):
    """--no-tune-allocator (or PIXELFORGE_TUNE_ALLOCATOR=0) reaches train() as an argument."""
    from types import SimpleNamespace

    import pixelforge.training

    seen = []

    def fake_train(cfg, out, **kw):
        seen.append(kw["tune_allocator"])
        return SimpleNamespace(step=1, seconds=0.0, images_per_second=0.0, checkpoint=None)

    monkeypatch.setattr(pixelforge.training, "train", fake_train)
    argv = ["train", "--out", str(tmp_path / "r"), "--steps", "1", "--quiet"]
    assert main(["--no-tune-allocator", *argv]) == 0
    monkeypatch.setenv("PIXELFORGE_TUNE_ALLOCATOR", "0")
    assert main(argv) == 0
    monkeypatch.delenv("PIXELFORGE_TUNE_ALLOCATOR")
    assert main(argv) == 0
    assert seen == [False, False, True]
