"""Checkpoint files: pickle-free nested state, atomic writes, folder resolution."""

import os

import pytest
import torch

from pixelforge.checkpoint import latest_checkpoint, load_state, resolve_checkpoint, save_state
from pixelforge.core.files import atomic_write_bytes
from pixelforge.errors import UserError
from pixelforge.rundir import RunDir


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
    run = RunDir(tmp_path / "run")
    root = run.checkpoints
    for step in (1, 2, 3):
        tmp = run.temp_dir(step)
        tmp.mkdir(parents=True)
        (tmp / "config.json").write_text("{}")
        (tmp / "model.safetensors").write_bytes(b"x")
        assert run.commit(step, keep=2) == root / f"step-{step:07d}"
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-0000002", "step-0000003"]
    assert latest_checkpoint(tmp_path / "run") == root / "step-0000003"
    assert resolve_checkpoint(tmp_path / "run") == root / "step-0000003"
    assert resolve_checkpoint(root / "step-0000002") == root / "step-0000002"
    with pytest.raises(UserError, match="neither"):
        resolve_checkpoint(tmp_path)
    with pytest.raises(UserError, match="no such"):
        resolve_checkpoint(tmp_path / "nope")


# --- component checkpoints, old folders, load failures -----------------------------------------

import json  # noqa: E402
import pickle  # noqa: E402  (only to write pickles the loader must refuse)
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from safetensors.torch import load_file  # noqa: E402

import pixelforge  # noqa: E402
from pixelforge.checkpoint import INDEX_FILE, read_index, write_components  # noqa: E402
from pixelforge.cli.main import main  # noqa: E402
from pixelforge.models import MODELS  # noqa: E402
from pixelforge.pipelines import AutoencodePipeline, GeneratePipeline  # noqa: E402
from pixelforge.pipelines.sampling import generate_images  # noqa: E402

OLD = Path(__file__).parent / "fixtures" / "old_checkpoints"


def _tiny_gen(seed: int = 0):
    torch.manual_seed(seed)
    return MODELS.get("dcgan").build("generator", image_size=16, channels=1, latent_dim=8,
                                     width=8).eval()


def test_write_components_layout_and_load_by_component(tmp_path):
    a, b = _tiny_gen(0), _tiny_gen(1)
    write_components(tmp_path, {"generator_ab": a, "generator_ba": b}, model="dcgan",
                     kind="gan", pipeline="generate")
    index = json.loads((tmp_path / INDEX_FILE).read_text())
    assert index["components"] == {"generator_ab": "generator_ab", "generator_ba": "generator_ba"}
    assert (index["model"], index["kind"], index["pipeline"]) == ("dcgan", "gan", "generate")
    assert index["_pixelforge"]["version"] == pixelforge.__version__
    for name in ("generator_ab", "generator_ba"):
        assert {p.name for p in (tmp_path / name).iterdir()} == {"config.json",
                                                                  "model.safetensors"}
    assert read_index(tmp_path) == index
    got_b = pixelforge.load(tmp_path, component="generator_ba")
    assert type(got_b) is type(b)
    for k, v in b.state_dict().items():
        assert torch.equal(got_b.state_dict()[k], v)
    assert any(not torch.equal(u, v) for u, v in zip(got_b.parameters(), a.parameters(),
                                                      strict=True))  # not the other network
    with pytest.raises(UserError, match="no component 'nope'"):
        pixelforge.load(tmp_path, component="nope")


def test_single_component_loads_as_pipeline_with_same_pixels(tmp_path):
    g = _tiny_gen()
    write_components(tmp_path / "ck", {"generator": g}, model="dcgan", kind="gan",
                     pipeline="generate")
    pipe = pixelforge.load(tmp_path / "ck")
    assert isinstance(pipe, GeneratePipeline) and pipe.image_size == 16
    ref = generate_images(g, 5, seed=2, precision="fp32")
    assert torch.equal(pipe.generate(5, seed=2, precision="fp32"), ref)
    assert not torch.equal(pipe.generate(5, seed=3, precision="fp32"), ref)


@pytest.mark.parametrize("name,cls", [("dcgan", GeneratePipeline), ("vae", AutoencodePipeline)])
def test_old_single_network_checkpoints_still_load(name, cls):
    """Folders written by 0.1.0 (no model_index.json) give the pixels that version gave."""
    expected = load_file(str(OLD / "expected_samples.safetensors"))[name]
    pipe = pixelforge.load(OLD / name)
    assert type(pipe) is cls
    assert torch.equal(pipe.generate(4, seed=3, precision="fp32"), expected)
    net = pixelforge.load(OLD / name, component="generator")
    assert torch.equal(generate_images(net, 4, seed=3, precision="fp32"), expected)
    assert read_index(OLD / name)["pipeline"] == cls.name


def _ckpt(tmp_path) -> Path:
    ck = tmp_path / "run" / "checkpoints" / "step-0000002"
    write_components(ck, {"generator": _tiny_gen()}, model="dcgan", kind="gan",
                     pipeline="generate")
    (ck.parent / "latest").write_text(ck.name + "\n")
    return ck


def _pickle_to(path: Path) -> None:
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))


def _break(case: str, ck: Path) -> None:
    comp = ck / "generator"
    if case == "truncated weights":
        data = (comp / "model.safetensors").read_bytes()
        (comp / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif case == "garbage weights":
        (comp / "model.safetensors").write_bytes(b"\x00garbage" * 50)
    elif case == "pickled weights":
        _pickle_to(comp / "model.safetensors")
    elif case == "pickled config":
        _pickle_to(comp / "config.json")
    elif case == "pickled index":
        _pickle_to(ck / INDEX_FILE)
    elif case == "missing config":
        (comp / "config.json").unlink()
    elif case == "missing weights":
        (comp / "model.safetensors").unlink()
    elif case == "other family config":
        vae = MODELS.get("vae").build("generator", image_size=16, channels=1, latent_dim=4,
                                      width=16)
        vae.save_pretrained(ck / "other")
        shutil.copy(ck / "other" / "config.json", comp / "config.json")
    elif case == "unknown model name":
        cfg = json.loads((comp / "config.json").read_text())
        cfg["_pixelforge"]["model"] = "no-such-gan"
        (comp / "config.json").write_text(json.dumps(cfg))
    elif case == "index names a missing component":
        idx = json.loads((ck / INDEX_FILE).read_text())
        idx["components"]["discriminator"] = "discriminator"
        (ck / INDEX_FILE).write_text(json.dumps(idx))
    elif case == "latest points to a folder without weights":
        part = ck.parent / "step-0000004"
        shutil.copytree(ck, part)
        (part / "generator" / "model.safetensors").unlink()
        (ck.parent / "latest").write_text(part.name + "\n")
    else:  # pragma: no cover
        raise AssertionError(case)


LOAD_FAILURES = {  # case -> the file (name fragment) the message must name
    "truncated weights": "model.safetensors", "garbage weights": "model.safetensors",
    "pickled weights": "model.safetensors", "pickled config": "config.json",
    "pickled index": INDEX_FILE, "missing config": "config.json",
    "missing weights": "model.safetensors", "other family config": "model.safetensors",
    "unknown model name": "config.json", "index names a missing component": "discriminator",
    "latest points to a folder without weights": "step-0000004",
}


@pytest.mark.parametrize("case", sorted(LOAD_FAILURES))
def test_every_load_failure_is_a_one_line_user_error(tmp_path, case, monkeypatch):
    ck = _ckpt(tmp_path)
    _break(case, ck)
    monkeypatch.setattr(pickle, "loads", None)  # a loader that unpickled would crash here
    for target in (tmp_path / "run", ck):
        if case.startswith("latest") and target == ck:
            continue
        with pytest.raises(UserError) as err:
            pixelforge.load(target)
        msg = str(err.value)
        assert LOAD_FAILURES[case] in msg and "\n" not in msg, msg


def test_cli_reports_load_failures_and_decode_on_a_gan(tmp_path, capsys):
    ck = _ckpt(tmp_path)
    capsys.readouterr()
    codes = tmp_path / "codes.npz"
    import numpy as np

    np.savez(codes, z=np.zeros((2, 8), np.float32))
    assert main(["decode", str(ck), str(codes), "--out", str(tmp_path / "d.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no encoder or decoder" in err and len(err.splitlines()) == 1
    np.savez(codes, z=np.array([object(), 1], dtype=object))
    vae = tmp_path / "vae"
    shutil.copytree(OLD / "vae", vae)
    assert main(["decode", str(vae), str(codes), "--out", str(tmp_path / "d.png")]) == 2
    assert "holds Python objects" in capsys.readouterr().err
    _break("truncated weights", ck)
    assert main(["sample", str(tmp_path / "run"), "--n", "2", "--out",
                 str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.safetensors" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "s.png").exists()


def test_latest_never_resolves_to_a_partial_folder(tmp_path):
    ck = _ckpt(tmp_path)
    assert latest_checkpoint(tmp_path / "run") == ck
    (ck / "generator" / "model.safetensors").unlink()
    assert latest_checkpoint(tmp_path / "run") is None
    with pytest.raises(UserError, match="incomplete checkpoint"):
        resolve_checkpoint(tmp_path / "run")
    (ck.parent / "latest").write_text("../../elsewhere\n")
    with pytest.raises(UserError, match="does not name a checkpoint folder"):
        resolve_checkpoint(tmp_path / "run")
