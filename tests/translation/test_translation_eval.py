"""`pixelforge eval` on translation checkpoints: paired scores, FD against the untranslated
baseline, cycle PSNR, colourisation pairs made from gray; records appended with the protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pixelforge.checkpoint import write_components
from pixelforge.cli.main import main
from pixelforge.core.files import atomic_write_text


def _run(tmp_path, nets, config, model="cyclegan"):
    run = tmp_path / "run"
    ckpt = run / "checkpoints" / "step-0000010"
    write_components(ckpt, nets, model=model, kind="translation", pipeline="translate")
    atomic_write_text(ckpt / "meta.json", json.dumps({"step": 10, "config": config}))
    atomic_write_text(run / "checkpoints" / "latest", "step-0000010\n")
    return run


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_cyclegan_eval_scores_both_directions_with_pairs_and_cycles(tmp_path, make_cyclegan,
                                                                    capsys):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 120, (48, 8, 8, 3), dtype=np.uint8)  # dark domain
    b = rng.integers(130, 256, (48, 8, 8, 3), dtype=np.uint8)  # bright domain
    np.savez(tmp_path / "d.npz", x_a=a[:40], x_b=b[:40], x_a_test=a[40:], x_b_test=b[40:])
    config = {"model": {"image_size": 8},
              "data": {"path": f"{tmp_path / 'd.npz'}:x_a", "path_b": f"{tmp_path / 'd.npz'}:x_b"}}
    run = _run(tmp_path, make_cyclegan(), config)
    code = main(["eval", str(run), "--json", "--eval.extractor_epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    scores = json.loads(out)
    assert scores["paired"] is True
    for d in ("a2b", "b2a"):
        for key in ("fd", "kid", "fd_untranslated", "l1", "psnr", "ssim", "cycle_psnr"):
            assert f"{d}_{key}" in scores
        assert 0 < scores[f"{d}_l1"] < 1 and scores[f"{d}_cycle_psnr"] > 0
    recs = {r["metric"]: r for r in _records(run)}
    assert recs["a2b_fd"]["direction"] == "a2b" and recs["a2b_fd"]["n_images"] == 8
    assert recs["b2a_psnr"]["step"] == 10 and recs["b2a_psnr"]["value"] == scores["b2a_psnr"]


@pytest.mark.slow
def test_colourisation_eval_scores_gray_to_colour(tmp_path, make_pix2pix, capsys):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (48, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "photos.npz", x_train=x[:40], x_test=x[40:])
    config = {"model": {"image_size": 16}, "data": {"path": str(tmp_path / "photos.npz")},
              "translation": {"pairs": "gray"}}
    run = _run(tmp_path, make_pix2pix(in_channels=1), config, model="pix2pix")
    code = main(["eval", str(run), "--json", "--eval.extractor_epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    scores = json.loads(out)
    assert scores["paired"] is True and "a2b_cycle_psnr" not in scores
    assert {"a2b_fd", "a2b_fd_untranslated", "a2b_l1", "a2b_psnr"} <= set(scores)


def test_eval_without_data_or_size_is_a_clear_error(tmp_path, make_cyclegan, capsys):
    run = _run(tmp_path, make_cyclegan(), {"model": {"image_size": 16}})
    assert main(["eval", str(run)]) == 2
    assert "pass --data (set A" in capsys.readouterr().err
    run2 = _run(tmp_path / "x", make_cyclegan(), {})
    assert main(["eval", str(run2), "--data", "somewhere"]) == 2
    assert "image_size is unknown" in capsys.readouterr().err
