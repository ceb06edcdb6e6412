"""The CLI end to end on tiny data: train, sample, interpolate, eval, info, and its exit codes."""

import json
import subprocess
import sys

import pytest
from PIL import Image

from pixelforge.cli.main import main


def _args(overrides: dict) -> list[str]:
    out = []
    for k, v in overrides.items():
        out += [f"--{k}", str(v)]
    return out


def test_help_lists_verbs(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for verb in ("train", "sample", "interpolate", "eval", "info", "export"):
        assert verb in out
    for verb in ("train", "sample", "interpolate", "eval", "info", "export"):
        assert main([verb, "--help"]) == 0
        assert "Example" in capsys.readouterr().out


def test_end_to_end(tmp_path, tiny_npz, tiny_overrides, capsys):
    run = tmp_path / "run"
    ov = tiny_overrides(tiny_npz)
    assert main(["train", "--out", str(run), "--quiet", *_args(ov)]) == 0
    assert "checkpoint:" in capsys.readouterr().out

    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "--n", "9", "--seed", "0", "--out", str(grid)]) == 0
    again = tmp_path / "grid2.png"
    assert main(["sample", str(run), "--n", "9", "--seed", "0", "--out", str(again)]) == 0
    assert grid.read_bytes() == again.read_bytes()  # same seed -> bit-identical file
    other = tmp_path / "grid3.png"
    assert main(["sample", str(run), "--n", "9", "--seed", "1", "--out", str(other)]) == 0
    assert grid.read_bytes() != other.read_bytes()
    assert Image.open(grid).size == (3 * 16 + 4 * 2, 3 * 16 + 4 * 2)

    singles = tmp_path / "singles"
    assert main(["sample", str(run), "--n", "3", "--out", f"{singles}/"]) == 0
    assert len(list(singles.glob("*.png"))) == 3

    gif = tmp_path / "walk.gif"
    assert main(["interpolate", str(run), "--seed-a", "1", "--seed-b", "2", "--frames", "5",
                 "--out", str(gif)]) == 0
    im = Image.open(gif)
    assert im.n_frames == 8  # 5 there + 3 back for a seamless loop

    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(tiny_npz), "--split", "test", "--json",
                 "--eval.n_generated", "64", "--eval.extractor_epochs", "1"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["fd_real_vs_real"] < scores["fd"]  # held-out real images score better than a 6-step G
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert lines and all("extractor" in json.loads(x) for x in lines)

    assert main(["info", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == "seed-dcgan" and info["step"] == 6 and info["metrics"]
    assert main(["info", str(run)]) == 0
    assert "seed-dcgan" in capsys.readouterr().out


def test_dry_run_prints_config(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--dry-run", "--steps", "7",
                 "--train.lr_g", "1e-4"]) == 0
    out = capsys.readouterr().out
    assert "steps: 7" in out and "lr_g: 0.0001" in out
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv,needle", [
    (["train", "--out", "X", "--train.lr", "1"], "train.lr"),
    (["train", "--out", "X", "--train.precision", "fp8"], "train.precision"),
    (["train", "--out", "X", "--model", "nope"], "unknown model 'nope'"),
    (["train", "--out", "X", "--data", "/no/such/folder"], "/no/such/folder"),
    (["sample", "/no/such/run"], "/no/such/run"),
    (["train", "--out", "X", "stray"], "stray"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, needle):
    argv = [a.replace("X", str(tmp_path / "r")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_refuses_to_overwrite_a_run(tmp_path, tiny_npz, tiny_overrides, capsys):
    run = tmp_path / "run"
    ov = tiny_overrides(tiny_npz, **{"train.steps": 1, "train.checkpoint_every": 1})
    assert main(["train", "--out", str(run), "--quiet", *_args(ov)]) == 0
    assert main(["train", "--out", str(run), "--quiet", *_args(ov)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--out", str(run), "--quiet", "--resume", "--steps", "2"]) == 0


@pytest.mark.slow
def test_console_script_runs_as_a_process(tmp_path):
    """The installed entry point: real exit codes, stderr without traceback."""
    exe = [sys.executable, "-m", "pixelforge.cli.main"]
    # a timeout: subprocess.run kills the child if it hangs, so no process outlives the test
    ok = subprocess.run([*exe, "--help"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "train" in ok.stdout
    bad = subprocess.run([*exe, "info", str(tmp_path / "missing")], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "missing" in bad.stderr


def test_train_on_an_image_folder_with_a_corrupt_file(tmp_path, caplog):
    """A user's folder: mixed sizes and modes, one broken file that is skipped and reported once."""
    import logging

    import numpy as np

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        mode, size = [("RGB", (40, 30)), ("L", (16, 16)), ("RGBA", (25, 50))][i % 3]
        arr = rng.integers(0, 255, (size[1], size[0], len(mode) if mode != "L" else 1), dtype=np.uint8)
        Image.fromarray(arr.squeeze(-1) if mode == "L" else arr, mode).save(folder / f"{i:02d}.png")
    (folder / "broken.jpg").write_bytes(b"not really a jpeg")
    run = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="pixelforge.data"):
        code = main(["train", "--out", str(run), "--quiet", "--data", str(folder), "--steps", "2",
                     "--model.image_size", "16", "--model.channels", "3", "--model.latent_dim", "8",
                     "--train.batch_size", "8", "--train.precision", "fp32",
                     "--train.checkpoint_every", "2"])
    assert code == 0
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and "1 of 21" in skipped[0] and "broken.jpg" in skipped[0]
    assert list((run / "checkpoints" / "step-0000002").rglob("model.safetensors"))
