"""ONNX export (stylegan-lite, dcgan) checked against onnxruntime, and the CLI's `export` verb
and `--class` / `--truncation` sampling options on tiny untrained generators."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.cli.main import main
from pixelforge.errors import UserError
from pixelforge.models.dcgan import DCGANGenerator
from pixelforge.models.stylegan_lite import StyleGANLiteGenerator
from pixelforge.pipelines.export import export_onnx, onnx_signature

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def _stylegan(num_classes: int = 0, size: int = 16) -> StyleGANLiteGenerator:
    torch.manual_seed(0)
    g = StyleGANLiteGenerator(size, 1, 16, num_classes=num_classes, width=4)
    g.train()
    with torch.no_grad():  # a non-zero w_avg and noise, so truncation and noise are exercised
        g(torch.randn(8, 16), torch.arange(8) % num_classes if num_classes else None)
        for layer in g.synthesis.convs:
            layer.noise_strength.fill_(0.3)
    return g.eval()


def _run_onnx(path, z: torch.Tensor, labels: torch.Tensor | None = None) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"z": z.numpy()}
    if labels is not None:
        feeds["labels"] = labels.numpy()
    return sess.run(["images"], feeds)[0]


@pytest.mark.parametrize("num_classes,truncation,size", [(0, None, 16), (0, 0.7, 16), (5, 0.5, 16),
                                                         (0, None, 28)])  # 28: a 7 px base map
def test_stylegan_lite_onnx_matches_pytorch(tmp_path, num_classes, truncation, size):
    g = _stylegan(num_classes, size)
    path = export_onnx(g, tmp_path / "g.onnx", truncation=truncation)  # traced at batch 1
    assert path == tmp_path / "g.onnx" and path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["g.onnx"]  # no temp file left behind
    z = torch.randn(4, 16)
    y = torch.tensor([0, 4, 2, 2]) if num_classes else None
    with torch.no_grad():
        ref = g.synthesize(z, y, truncation).clamp(-1, 1).numpy()
    out = _run_onnx(path, z, y)
    assert out.shape == (4, 1, size, size)
    np.testing.assert_allclose(out, ref, atol=1e-3)
    assert g.training is False and next(g.parameters()).dtype == torch.float32
    inputs, outputs = onnx_signature(path)
    assert inputs == ["z [batch, 16]"] + (["labels [batch]"] if num_classes else [])
    assert outputs == [f"images [batch, 1, {size}, {size}]"]
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["pixelforge.model"] == "stylegan-lite" and meta["latent_dim"] == "16"


def test_dcgan_onnx_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    g = DCGANGenerator(16, 1, 16, width=8)
    g.train()
    with torch.no_grad():
        g(torch.randn(8, 16))  # BatchNorm running stats away from their init
    g.eval()
    path = export_onnx(g, tmp_path / "dcgan.onnx", batch_size=2, opset=17)
    z = torch.randn(4, 16)
    with torch.no_grad():
        ref = g(z).numpy()
    np.testing.assert_allclose(_run_onnx(path, z), ref, atol=1e-3)
    assert g.training is False  # the caller's module is left as it was


def test_export_rejects_bad_options(tmp_path, monkeypatch):
    g = _stylegan()
    with pytest.raises(UserError, match="opset 9"):
        export_onnx(g, tmp_path / "a.onnx", opset=9)
    with pytest.raises(UserError, match="truncation"):
        export_onnx(g, tmp_path / "a.onnx", truncation=1.5)
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    with pytest.raises(UserError, match="pip install onnx"):
        export_onnx(g, tmp_path / "a.onnx")
    assert not list(tmp_path.iterdir())


@pytest.fixture
def saved(tmp_path):
    """Tiny untrained generators saved like a checkpoint folder: (unconditional, conditional)."""
    plain, cond = tmp_path / "plain", tmp_path / "cond"
    _stylegan().save_pretrained(plain)
    _stylegan(num_classes=5).save_pretrained(cond)
    return plain, cond


def test_cli_export_writes_a_loadable_onnx(tmp_path, saved, capsys):
    out = tmp_path / "exported" / "g.onnx"
    assert main(["export", str(saved[1]), "--out", str(out), "--opset", "17"]) == 0
    text = capsys.readouterr().out
    assert str(out) in text and "z [batch, 16]" in text and "labels [batch]" in text
    assert "images [batch, 1, 16, 16]" in text
    onnx.checker.check_model(onnx.load(str(out)))
    imgs = _run_onnx(out, torch.randn(3, 16), torch.tensor([0, 1, 4]))
    assert imgs.shape == (3, 1, 16, 16) and np.abs(imgs).max() <= 1
    assert main(["export", str(saved[0]), "--out", str(tmp_path / "g.txt")]) == 2
    assert ".onnx" in capsys.readouterr().err
    assert main(["export", str(saved[0]), "--out", str(tmp_path / "h.onnx"), "--opset", "3"]) == 2
    assert "opset 3" in capsys.readouterr().err


def test_cli_sample_truncation_and_class(tmp_path, saved, capsys):
    plain, cond = saved
    grids = {}
    for name, extra in [("full", []), ("trunc", ["--truncation", "0.5"])]:
        grids[name] = tmp_path / f"{name}.png"
        assert main(["sample", str(plain), "--n", "4", "--out", str(grids[name]), *extra]) == 0
    assert Image.open(grids["trunc"]).size == Image.open(grids["full"]).size
    assert grids["trunc"].read_bytes() != grids["full"].read_bytes()

    capsys.readouterr()
    assert main(["sample", str(plain), "--class", "3", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "not class-conditional" in err and "Traceback" not in err
    assert main(["sample", str(plain), "--truncation", "1.5", "--out", str(tmp_path / "x.png")]) == 2
    assert "truncation" in capsys.readouterr().err

    c1, c2 = tmp_path / "c1.png", tmp_path / "c2.png"
    assert main(["sample", str(cond), "--n", "4", "--class", "1", "--out", str(c1)]) == 0
    assert main(["sample", str(cond), "--n", "4", "--class", "2", "--out", str(c2)]) == 0
    assert c1.read_bytes() != c2.read_bytes()
    assert main(["sample", str(cond), "--class", "7", "--out", str(tmp_path / "x.png")]) == 2
    assert "out of range" in capsys.readouterr().err


def test_cli_interpolate_with_class_and_truncation(tmp_path, saved, capsys):
    plain, cond = saved
    gifs = [tmp_path / f"walk{k}.gif" for k in (1, 3)]
    for k, gif in zip((1, 3), gifs, strict=True):
        assert main(["interpolate", str(cond), "--frames", "3", "--class", str(k),
                     "--truncation", "0.7", "--out", str(gif)]) == 0
        assert Image.open(gif).n_frames == 4
    assert gifs[0].read_bytes() != gifs[1].read_bytes()
    assert main(["interpolate", str(plain), "--frames", "3", "--class", "1",
                 "--out", str(tmp_path / "x.gif")]) == 2
    assert "not class-conditional" in capsys.readouterr().err
