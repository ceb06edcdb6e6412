"""Issue 22 item 2: paired or unpaired folders of a gray A and a colour B. The input channels
follow the input side, the output channels the output side (pix2pix), per direction (CycleGAN):
trained from the CLI on tiny folders with no channel set, then translated."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pixelforge.cli.main import main

SIZE = 32


@pytest.fixture(scope="module")
def gray_a_colour_b(tmp_path_factory):
    """A: 8 gray PNGs (mode L); B: the same names in colour (a tint of A)."""
    root = tmp_path_factory.mktemp("sides")
    rng = np.random.default_rng(0)
    (root / "A").mkdir()
    (root / "B").mkdir()
    for i in range(8):
        g = rng.integers(0, 256, (SIZE, SIZE), dtype=np.uint8)
        Image.fromarray(g, "L").save(root / "A" / f"{i}.png")
        rgb = np.stack([g, 255 - g, (g // 2) + 64], -1).astype(np.uint8)
        Image.fromarray(rgb, "RGB").save(root / "B" / f"{i}.png")
    return root / "A", root / "B"


def _generators(run) -> dict[str, dict]:
    ckpt = sorted((run / "checkpoints").glob("step-*"))[-1]
    return {p.parent.name: json.loads(p.read_text()) for p in ckpt.glob("generator*/config.json")}


def _train(run, a, b, model: str, *extra: str) -> None:
    params = {"pix2pix": "{width: 4, depth: 3}", "cyclegan": "{width: 4, n_blocks: 1}"}[model]
    code = main(["train", "--model", model, "--data", str(a), "--data.path_b", str(b),
                 "--out", str(run), "--quiet", "--steps", "1", "--train.batch_size", "2",
                 "--model.image_size", str(SIZE), "--model.params", params,
                 "--train.precision", "fp32", "--model.recipe", "none", *extra])
    assert code == 0


@pytest.mark.parametrize("direction,want", [("a2b", (1, 3)), ("b2a", (3, 1))])
def test_pix2pix_takes_its_input_channels_from_the_input_side(tmp_path, gray_a_colour_b,
                                                              direction, want):
    a, b = gray_a_colour_b
    run = tmp_path / "run"
    _train(run, a, b, "pix2pix", "--data.direction", direction)
    (g,) = _generators(run).values()
    assert (g["in_channels"], g["out_channels"]) == want
    photo = tmp_path / "in.png"
    Image.fromarray(np.full((SIZE, SIZE), 90, np.uint8), "L").save(photo)
    assert main(["translate", str(run), str(photo), "--direction", direction,
                 "--out", str(tmp_path / "out")]) == 0
    with Image.open(tmp_path / "out" / "in.png") as out:
        assert out.mode == ("RGB" if want[1] == 3 else "L")


def test_cyclegan_has_the_channels_of_each_direction(tmp_path, gray_a_colour_b):
    a, b = gray_a_colour_b
    run = tmp_path / "run"
    _train(run, a, b, "cyclegan")
    g = _generators(run)
    assert (g["generator_ab"]["in_channels"], g["generator_ab"]["out_channels"]) == (1, 3)
    assert (g["generator_ba"]["in_channels"], g["generator_ba"]["out_channels"]) == (3, 1)


def test_dry_run_says_where_each_side_comes_from(gray_a_colour_b, capsys):
    a, b = gray_a_colour_b
    assert main(["train", "--model", "pix2pix", "--data", str(a), "--data.path_b", str(b),
                 "--out", "unused", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "model.channels: 3, model.params.in_channels: 1 (image-to-image" in out
