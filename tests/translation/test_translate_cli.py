"""`pixelforge translate` end to end on tiny random-weight checkpoints, both directions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import pixelforge
from pixelforge.cli.main import main
from pixelforge.core.images import to_float


@pytest.fixture
def pngs(tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "imgs"
    d.mkdir()
    for name, shape in (("wide", (12, 30, 3)), ("tall", (30, 12, 3))):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(d / f"{name}.png")
    return d


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_translate_both_directions_matches_the_pipeline(cyclegan_ckpt, pngs, tmp_path, capsys,
                                                        direction):
    out = tmp_path / f"out_{direction}"
    code = main(["translate", str(cyclegan_ckpt), str(pngs / "wide.png"), str(pngs / "tall.png"),
                 "--direction", direction, "--out", f"{out}/", "--precision", "fp32"])
    assert code == 0 and "translated 2 image(s)" in capsys.readouterr().out
    pipe = pixelforge.load(cyclegan_ckpt)
    for name in ("wide", "tall"):
        src = torch.from_numpy(np.asarray(Image.open(pngs / f"{name}.png")).copy())
        want = pipe.translate(to_float(src.permute(2, 0, 1))[None], direction=direction,
                              precision="fp32")
        got = to_float(torch.from_numpy(np.asarray(Image.open(out / f"{name}.png")).copy()))
        assert got.shape == (src.shape[0], src.shape[1], 3)
        assert float((got.permute(2, 0, 1) - want[0]).abs().max()) <= 1 / 127.5 + 1e-6


def test_the_two_directions_differ(cyclegan_ckpt, pngs, tmp_path):
    for d in ("a2b", "b2a"):
        assert main(["translate", str(cyclegan_ckpt), str(pngs), "--direction", d,
                     "--out", str(tmp_path / d)]) == 0
    a, b = (np.asarray(Image.open(tmp_path / d / "wide.png")) for d in ("a2b", "b2a"))
    assert not np.array_equal(a, b)


def test_colouriser_runs_without_direction_and_outputs_colour(colorize_ckpt, pngs, tmp_path):
    gray = tmp_path / "g.png"
    Image.open(pngs / "wide.png").convert("L").save(gray)
    assert main(["translate", str(colorize_ckpt), str(gray), "--out", str(tmp_path / "o")]) == 0
    with Image.open(tmp_path / "o" / "g.png") as im:
        assert (im.mode, im.size) == ("RGB", (30, 12))


@pytest.mark.parametrize("args,message", [
    (["--out", "o/"], "both ways: pass direction"),
    (["--direction", "sideways", "--out", "o/"], "choose a2b or b2a"),
    (["--direction", "a2b", "--out", "o/", "--precision", "fp8"], "auto, fp32 or bf16"),
])
def test_usage_errors_exit_2_with_one_line(cyclegan_ckpt, pngs, tmp_path, capsys, monkeypatch,
                                           args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["translate", str(cyclegan_ckpt), str(pngs), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_non_translation_checkpoint_is_refused(tmp_path, pngs, capsys):
    from pixelforge.checkpoint import write_components
    from pixelforge.models import MODELS

    g = MODELS.get("dcgan").build("generator", image_size=16, channels=3, latent_dim=8, width=8)
    write_components(tmp_path / "gan", {"generator": g}, model="dcgan", kind="gan",
                     pipeline="generate")
    assert main(["translate", str(tmp_path / "gan"), str(pngs), "--out", str(tmp_path / "o")]) == 2
    assert "not an image translation model" in capsys.readouterr().err
