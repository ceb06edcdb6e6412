"""Crash safety (issue 12): SIGKILL at random moments resumes bit-equal; a full disk keeps the
previous checkpoint; `latest` never points at a partial checkpoint.

Kill moments come from seeded draws (the seed is in each test id and failure message), so a
failure reproduces. The killed child is tests/training/_crash_child.py.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from pixelforge import checkpoint as ck
from pixelforge.checkpoint import STATE_FILE, checkpoint_problem, latest_checkpoint, load_state
from pixelforge.rundir import RunDir

CHILD = Path(__file__).with_name("_crash_child.py")
ROOT = Path(__file__).resolve().parents[2]
STEPS, EVERY = 6, 2


def _args(data: Path) -> list[str]:
    ov = {"model.name": "seed-dcgan", "model.image_size": 16, "model.channels": 1,
          "model.latent_dim": 16, "data.path": str(data), "train.batch_size": 16,
          "train.steps": STEPS, "train.log_every": 1, "train.sample_every": 4,
          "train.checkpoint_every": EVERY, "train.keep_checkpoints": 2, "train.n_samples": 4,
          "train.precision": "fp32"}
    return [a for k, v in ov.items() for a in (f"--{k}", str(v))]


def _launch(run: Path, data: Path, crash: str | None, resume: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT / "src")}
    env.pop("PF_CRASH_AT", None)
    if crash:
        env["PF_CRASH_AT"] = crash
    argv = [sys.executable, str(CHILD), "train", "--out", str(run), "--quiet", *_args(data)]
    return subprocess.run(argv + (["--resume"] if resume else []), env=env, capture_output=True,
                          text=True, timeout=120)


def _tensors(ckpt: Path) -> dict[str, torch.Tensor | str]:
    """Every tensor of every .safetensors file below a checkpoint, plus each file's metadata."""
    out: dict[str, torch.Tensor | str] = {}
    for f in sorted(ckpt.rglob("*.safetensors")):
        rel = f.relative_to(ckpt).as_posix()
        with safe_open(str(f), framework="pt") as fh:
            out[f"{rel}#meta"] = json.dumps(fh.metadata() or {}, sort_keys=True)
            for key in fh.keys():
                out[f"{rel}:{key}"] = fh.get_tensor(key)
    return out


def _diff_paths(a, b, path: str = "") -> list[str]:
    """Where two JSON values differ (metadata strings holding JSON are parsed too)."""
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "[{" and a != b:
        try:
            a, b = json.loads(a), json.loads(b)
        except json.JSONDecodeError:
            return [path]
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in
                _diff_paths(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (u, v) in enumerate(zip(a, b, strict=True)) for d in _diff_paths(u, v, f"{path}[{i}]")]
    return [] if a == b else [path]


def _assert_complete(run: Path, context: str) -> None:
    """`latest` (if any) names a folder whose every file is whole and loadable."""
    pointer = run / "checkpoints" / "latest"
    if not pointer.exists():
        return
    target = pointer.parent / pointer.read_text().strip()
    assert target.is_dir(), f"{context}: latest points to missing {target}"
    assert checkpoint_problem(target) is None, f"{context}: {checkpoint_problem(target)}"
    assert latest_checkpoint(run) == target, context
    _tensors(target)  # every safetensors file parses (a torn file would not)
    state = load_state(target / STATE_FILE)
    assert int(state["step"]) == int(target.name.split("-")[1]), context


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_npz) -> dict:
    """The uninterrupted run's final checkpoint (weights of every component + training state)."""
    run = tmp_path_factory.mktemp("ref") / "run"
    proc = _launch(run, tiny_npz, None, resume=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = latest_checkpoint(run)
    assert ckpt is not None and ckpt.name == f"step-{STEPS:07d}"
    return _tensors(ckpt)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0])
def test_sigkill_at_random_moments_resumes_bit_equal(tmp_path, tiny_npz, reference, seed):
    rng = np.random.default_rng(seed)
    run = tmp_path / "run"
    kills, log = 0, []
    for attempt in range(4):
        latest = latest_checkpoint(run)
        start = int(latest.name.split("-")[1]) if latest else 0
        # alternate kills inside checkpoint writes (fs: ~20 durability calls per checkpoint, a
        # torn file at fsync) and mid-training (after a random D or G optimizer step); the
        # moments are drawn over the work this launch still has to do
        if attempt % 2 == 0:
            crash = f"fs:{rng.integers(1, 20 * (STEPS - start) // EVERY + 1)}"
        else:
            crash = f"opt:{rng.integers(1, 2 * (STEPS - start) + 1)}"
        crash = None if attempt == 3 else crash
        proc = _launch(run, tiny_npz, crash, resume=latest is not None)
        log.append(f"{crash} from step {start} -> {proc.returncode}")
        context = f"seed {seed}, runs {log}"
        if proc.returncode == -9:
            kills += 1
            _assert_complete(run, context)
            continue
        assert proc.returncode == 0, f"{context}: {proc.stderr[-1500:]}"
        break
    assert kills >= 3, f"seed {seed}: only {kills} kills happened ({log})"
    assert any("from step 0" not in entry for entry in log), f"never resumed: {log}"
    final = latest_checkpoint(run)
    assert final is not None and final.name == f"step-{STEPS:07d}", log
    got = _tensors(final)
    assert got.keys() == reference.keys(), log
    for key, want in reference.items():
        if isinstance(want, str):  # JSON metadata, e.g. the state's skeleton with RNG states
            diff = _diff_paths(json.loads(want), json.loads(got[key]))
            assert not diff, f"{key}: {diff[:3]} differ after kills {log}"
        else:
            assert torch.equal(got[key], want), f"{key} differs after kills {log}"


# -- a full disk ---------------------------------------------------------------------------------

def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("where", ["fsync", "writer"])
def test_full_disk_keeps_previous_checkpoint(tmp_path, tiny_npz, monkeypatch, capsys, where):
    """ENOSPC while writing the second checkpoint: exit 1 with one `error:` line, `latest` still
    at the first checkpoint, byte for byte as it was written."""
    from pixelforge.cli.main import main

    run, seen = tmp_path / "run", {}

    def disk_full(path) -> bool:
        """Full from the moment the first checkpoint is committed (`latest` exists)."""
        first = latest_checkpoint(run)
        if first is None:
            return False
        seen.setdefault("first", (first, _digest(first)))
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    from pixelforge.core import files

    real_fsync, real_write = os.fsync, files.atomic_write_bytes
    if where == "fsync":  # the kernel reports the full disk when data is flushed

        def fsync(fd):
            disk_full(run)
            return real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
    else:  # the atomic writer (training state, index, meta, `latest`) fails

        def writer(path, data):
            disk_full(path)
            return real_write(path, data)

        monkeypatch.setattr(ck, "atomic_write_bytes", writer)
        monkeypatch.setattr(files, "atomic_write_bytes", writer)
    argv = ["train", "--out", str(run), "--quiet", *_args(tiny_npz)]
    argv[argv.index("--train.checkpoint_every") + 1] = "3"
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    monkeypatch.undo()
    assert code == 1, err
    assert len(err) == 1 and err[0].startswith("error: no space left on device"), err
    assert "Traceback" not in "\n".join(err)
    first, digest = seen["first"]
    assert first.name == "step-0000003"
    assert latest_checkpoint(run) == first
    assert _digest(first) == digest  # untouched
    _assert_complete(run, where)
    assert not (run / "checkpoints" / "step-0000006").exists()


# -- every interruption point of a checkpoint write ----------------------------------------------

class _Crash(BaseException):
    """Stands for the process dying (not an Exception, so nothing on the way handles it)."""


def _write_checkpoint(root: Path, step: int, g: torch.nn.Module, keep: int = 1) -> None:
    """A checkpoint written the way the trainer writes one: components + state in a temp folder,
    then commit (rename into place, point `latest`, prune)."""
    run = RunDir(root.parent)
    tmp = run.temp_dir(step)
    tmp.mkdir(parents=True, exist_ok=True)
    ck.write_components(tmp, {"generator": g}, model="seed-dcgan", kind="gan",
                        pipeline="generate")
    ck.save_state(tmp / STATE_FILE, {"step": step, "task": {"G": g.state_dict()}})
    run.commit(step, keep=keep)


def _stop_at(monkeypatch, point: int) -> None:
    """Raise _Crash at the point-th fsync / replace / rename / rmtree (a torn file at fsync);
    fsync itself is a no-op here: the sweep checks the order of steps, not the disk."""
    import shutil

    real = {"fsync": lambda fd: None, "replace": os.replace, "rename": os.rename,
            "rmtree": shutil.rmtree}
    calls = {"n": 0}

    def hit() -> bool:
        calls["n"] += 1
        return calls["n"] == point

    def fsync(fd):
        if hit():
            try:  # a file being written (not one reopened read-only to flush) is torn
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
            except OSError:
                pass
            raise _Crash
        return real["fsync"](fd)

    def wrap(name):
        def f(*a, **k):
            if hit():
                raise _Crash
            return real[name](*a, **k)
        return f

    monkeypatch.setattr(os, "fsync", fsync)
    for name in ("replace", "rename"):
        monkeypatch.setattr(os, name, wrap(name))
    monkeypatch.setattr(shutil, "rmtree", wrap("rmtree"))


def test_latest_is_complete_at_every_interruption_point(tmp_path, monkeypatch):
    """Stop the second checkpoint write (keep 1: its commit also prunes the first) at each
    fsync / rename / rmtree in turn: `latest` always names a complete checkpoint, the previous
    one until the new one is committed."""
    import shutil

    from pixelforge.models import MODELS

    g = MODELS.get("seed-dcgan").build("generator", image_size=16, channels=1, latent_dim=4)
    template = tmp_path / "template"
    _write_checkpoint(template / "checkpoints", 2, g)
    with torch.no_grad():
        for p in g.parameters():
            p.mul_(2.0)
    for point in range(1, 500):
        run = tmp_path / f"p{point}"
        shutil.copytree(template, run)
        _stop_at(monkeypatch, point)
        crashed = False
        try:
            _write_checkpoint(run / "checkpoints", 4, g)
        except _Crash:
            crashed = True
        finally:
            monkeypatch.undo()
        _assert_complete(run, f"interruption point {point}")
        latest = latest_checkpoint(run)
        assert latest is not None and latest.name in ("step-0000002", "step-0000004")
        if not crashed:
            assert latest.name == "step-0000004"
            assert not (run / "checkpoints" / "step-0000002").exists()  # pruned
            break
    assert point > 5  # the sweep really went through the write


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_atomic_writes_get_the_mode_a_plain_open_would(tmp_path, umask):
    """mkstemp's temp files are 0600; outputs renamed from them must follow the umask instead
    (a user's upscaled photo readable by the group, as `open()` would make it)."""
    from pixelforge.core.files import atomic_write_bytes

    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "atomic.bin", b"x")
        (tmp_path / "plain.bin").write_bytes(b"x")
    finally:
        os.umask(old)
    mode = lambda name: (tmp_path / name).stat().st_mode & 0o777  # noqa: E731
    assert mode("atomic.bin") == mode("plain.bin") == 0o666 & ~umask
