"""Checkpoint files: pickle-free nested state, atomic writes, folder resolution."""

import os

import pytest
import torch

from pixelforge.checkpoint import (
    atomic_write_bytes,
    commit_checkpoint_dir,
    latest_checkpoint,
    load_state,
    resolve_checkpoint,
    save_state,
)
from pixelforge.errors import UserError


def test_nested_state_roundtrip(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": 7,
             "rng": torch.get_rng_state(), "tup": (1, "a", None, 2.5), "flag": True}
    save_state(tmp_path / "s.safetensors", state)
    back = load_state(tmp_path / "s.safetensors")
    assert back["step"] == 7 and back["tup"] == (1, "a", None, 2.5) and back["flag"] is True
    assert torch.equal(back["rng"], state["rng"])
    opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    opt2.load_state_dict(back["opt"])
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(opt2.state_dict()["state"][0][k], v)


def test_state_file_is_not_a_pickle(tmp_path):
    save_state(tmp_path / "s.safetensors", {"w": torch.ones(2)})
    head = (tmp_path / "s.safetensors").read_bytes()[:2]
    assert head != b"\x80\x02" and head[:1] != b"\x80"  # pickle protocol marker
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(UserError, match="not a pixelforge training state"):
        load_state(tmp_path / "bad.safetensors")


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_commit_prunes_and_points_latest(tmp_path):
    root = tmp_path / "run" / "checkpoints"
    for step in (1, 2, 3):
        tmp = root / f"step-{step:07d}.tmp"
        tmp.mkdir(parents=True)
        (tmp / "config.json").write_text("{}")
        (tmp / "model.safetensors").write_bytes(b"x")
        commit_checkpoint_dir(tmp, root / f"step-{step:07d}", keep=2)
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-0000002", "step-0000003"]
    assert latest_checkpoint(tmp_path / "run") == root / "step-0000003"
    assert resolve_checkpoint(tmp_path / "run") == root / "step-0000003"
    assert resolve_checkpoint(root / "step-0000002") == root / "step-0000002"
    with pytest.raises(UserError, match="neither"):
        resolve_checkpoint(tmp_path)
    with pytest.raises(UserError, match="no such"):
        resolve_checkpoint(tmp_path / "nope")
