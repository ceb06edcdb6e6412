"""`pixelforge train --config` for pix2pix and CycleGAN on tiny data, then `translate` on the run
(both directions, odd sizes) and `eval` scoring it; `--resume` continues the same schedule."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from pixelforge.cli.main import main

SIZE = 32


@pytest.fixture(scope="module")
def facades_like(tmp_path_factory):
    """Tiny paired data in the facades layout: B is A with its colours inverted."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (20, SIZE, SIZE, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("data") / "facades_tiny.npz"
    np.savez(path, x_a=a[:14], x_b=255 - a[:14], x_a_test=a[14:], x_b_test=255 - a[14:])
    return path


def _config(tmp_path, npz, fam: str, **extra) -> str:
    params = {"pix2pix": {"width": 4, "depth": 5}, "cyclegan": {"width": 4, "n_blocks": 1}}[fam]
    tree = {"model": {"name": fam, "image_size": SIZE, "channels": 3, "params": params},
            "data": {"path": f"{npz}:x_a", "path_b": f"{npz}:x_b", "direction": "b2a"},
            "train": {"steps": 4, "batch_size": 2, "loss": "lsgan", "checkpoint_every": 2,
                      "sample_every": 4, "log_every": 2},
            "translation": {"jitter": True, "pool_size": 3, "decay_start": 0.5}, **extra}
    path = tmp_path / f"{fam}.yaml"
    path.write_text("# tiny test recipe\n" + yaml.safe_dump(tree))
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("fam", ["pix2pix", "cyclegan"])
def test_train_translate_eval_end_to_end(tmp_path, facades_like, capsys, fam):
    run = tmp_path / "run"
    assert main(["train", "--config", _config(tmp_path, facades_like, fam), "--out", str(run),
                 "--quiet", "--steps", "2"]) == 0
    assert main(["train", "--out", str(run), "--resume", "--quiet", "--steps", "4"]) == 0
    assert "to step 4" in capsys.readouterr().out
    img = tmp_path / "odd.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (37, 23, 3), dtype=np.uint8)
                    ).save(img)
    directions = ["b2a"] if fam == "pix2pix" else ["a2b", "b2a"]
    for d in directions:
        assert main(["translate", str(run), str(img), "--direction", d,
                     "--out", str(tmp_path / d)]) == 0
        with Image.open(tmp_path / d / "odd.png") as out:
            assert (out.size, out.mode) == ((23, 37), "RGB")
    if fam == "pix2pix":  # the run holds generator_ba only
        assert main(["translate", str(run), str(img), "--direction", "a2b",
                     "--out", str(tmp_path / "x")]) == 2
    capsys.readouterr()
    assert main(["eval", str(run), "--data", f"{facades_like}:x_a", "--json",
                 "--eval.extractor_epochs", "1"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["paired"] is True  # the test rows of x_a / x_b are aligned
    for d in directions:
        # L1 and PSNR against a reference computed here: the run's own translations of the
        # test inputs, rounded to 8 bits as a PNG holds them, scored row by row with numpy
        l1_ref, psnr_ref = _reference_scores(run, facades_like, d)
        assert scores[f"{d}_l1"] == pytest.approx(l1_ref, abs=1e-4)
        assert scores[f"{d}_psnr"] == pytest.approx(psnr_ref, abs=1e-3)
        assert np.isfinite(scores[f"{d}_fd"]) and scores[f"{d}_fd"] != scores[f"{d}_fd_untranslated"]
    assert ("a2b_cycle_psnr" in scores) == (fam == "cyclegan")


def _reference_scores(run, npz, direction: str) -> tuple[float, float]:
    """Mean L1 ([0, 1] scale) and mean per-image PSNR (dB) of the run's `direction`
    translations of the test inputs against their aligned targets, in 8-bit steps."""
    import torch

    import pixelforge

    data = np.load(npz)
    src, dst = ("x_b_test", "x_a_test") if direction == "b2a" else ("x_a_test", "x_b_test")
    x = torch.from_numpy(data[src]).permute(0, 3, 1, 2).float() / 127.5 - 1
    fake = pixelforge.load(run).translate(x, direction=direction, precision="fp32")
    pred = np.round((fake.clamp(-1, 1).numpy() + 1) * 127.5) / 255  # [N, 3, H, W]
    target = data[dst].transpose(0, 3, 1, 2) / 255
    err = (pred - target).reshape(len(pred), -1)
    return float(np.abs(err).mean()), float(np.mean(-10 * np.log10((err ** 2).mean(1))))


def test_translation_config_errors_name_the_field(tmp_path, facades_like, capsys):
    cfg = _config(tmp_path, facades_like, "pix2pix")
    assert main(["train", "--config", cfg, "--out", str(tmp_path / "r"), "--dry-run",
                 "--data.direction", "up"]) == 2
    assert "data.direction" in capsys.readouterr().err
    assert main(["train", "--config", cfg, "--out", str(tmp_path / "r"), "--dry-run",
                 "--translation.decay_start", "1.5"]) == 2
    assert "translation.decay_start" in capsys.readouterr().err
