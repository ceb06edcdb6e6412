"""A DP run end to end through the CLI: train with a privacy section, `info` shows ε,
`synthesize` writes the documented .npz / PNG folder and refuses bad --n."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pixelforge.checkpoint import latest_checkpoint, privacy_record
from pixelforge.cli.main import main

ARGS = ["--model", "dcgan", "--model.conditional", "true", "--model.image_size", "16",
        "--model.channels", "1", "--model.latent_dim", "16", "--train.batch_size", "16",
        "--train.steps", "4", "--train.checkpoint_every", "4", "--train.sample_every", "4",
        "--train.n_samples", "4", "--train.precision", "fp32", "--model.recipe", "none",
        "--privacy.target_epsilon", "8"]


@pytest.fixture(scope="module")
def dp_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dp")
    d = np.load(__import__("pathlib").Path(__file__).resolve().parents[2] / "src" /
                "pixelforge" / "assets" / "mnist_12k.npz")
    data = root / "digits.npz"
    np.savez(data, x_train=d["x_train"][:256], y_train=d["y_train"][:256])
    run = root / "run"
    assert main(["train", "--out", str(run), "--quiet", "--data", str(data), *ARGS]) == 0
    return run


def test_info_shows_epsilon(dp_run, capsys):
    rec = privacy_record(latest_checkpoint(dp_run))
    assert main(["info", str(dp_run)]) == 0
    out = capsys.readouterr().out
    assert f"privacy:    ε = {rec['epsilon']:.3g} (δ = {rec['delta']:g}, rdp, 4 steps)" in out
    assert 0 < rec["epsilon"] <= 8 and rec["delta"] == 1e-3  # 256 images: below 1/256
    assert main(["info", str(dp_run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["privacy"] == rec


def test_synthesize_npz_format(dp_run, tmp_path, capsys):
    out = tmp_path / "synth.npz"
    assert main(["synthesize", str(dp_run), "--n", "25", "--out", str(out)]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert set(f.files) == {"x", "y", "meta"}
        x, y, meta = f["x"], f["y"], json.loads(str(f["meta"][0]))
    assert x.dtype == np.uint8 and x.shape == (25, 16, 16, 1)
    assert y.tolist() == [i % 10 for i in range(25)]
    assert meta["privacy"] == privacy_record(latest_checkpoint(dp_run))
    assert meta["n"] == 25 and meta["num_classes"] == 10
    assert "ε = " in capsys.readouterr().out
    again = tmp_path / "again.npz"  # same seed, same pixels
    assert main(["synthesize", str(dp_run), "--n", "25", "--out", str(again)]) == 0
    with np.load(again) as f:
        assert np.array_equal(f["x"], x)


def test_synthesize_png_folder(dp_run, tmp_path):
    out = tmp_path / "pngs"
    assert main(["synthesize", str(dp_run), "--n", "12", "--out", f"{out}/"]) == 0
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 12
    lines = (out / "labels.csv").read_text().splitlines()
    assert lines[0] == "file,label" and lines[1:3] == ["synth-0000.png,0", "synth-0001.png,1"]
    meta = json.loads((out / "synthesize.json").read_text())
    assert meta["privacy"]["epsilon"] == privacy_record(latest_checkpoint(dp_run))["epsilon"]


@pytest.mark.parametrize("n, words", [("0", "--n 0"), ("10000000000000", "GB are free")])
def test_synthesize_refuses_bad_n(dp_run, tmp_path, capsys, n, words):
    out = tmp_path / "bad.npz"
    assert main(["synthesize", str(dp_run), "--n", n, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not out.exists()


def test_cli_resume_with_changed_privacy_is_refused(dp_run, capsys):
    code = main(["train", "--out", str(dp_run), "--quiet", "--resume", "--train.steps", "6",
                 "--privacy.target_epsilon", "4"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "privacy.target_epsilon" in err[0]
