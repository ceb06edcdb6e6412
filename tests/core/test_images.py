"""core.images: the one set of conversions, and identical grids from training and `sample`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.cli.main import main
from pixelforge.core.images import grid_image, save_grid, save_images, to_float, to_pil, to_uint8


def test_uint8_float_round_trip_is_exact_for_every_level():
    levels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    x = to_float(levels)
    assert x.dtype == torch.float32 and x.min() == -1 and x.max() == 1
    assert torch.equal(x.flatten()[:3], torch.tensor([-1.0, -1 + 1 / 127.5, -1 + 2 / 127.5]))
    assert torch.equal(to_uint8(x), levels)
    assert levels.dtype == torch.uint8 and int(levels.max()) == 255  # the input is untouched


def test_to_uint8_rounds_to_nearest_and_clamps():
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0 / 255, 0.999, 3.0])
    # (x + 1) * 127.5 = [-127.5, 0, 127.5, 128.0, 254.87, 510] -> clamped and rounded
    assert to_uint8(x).tolist() == [0, 0, 128, 128, 255, 255]


def test_to_pil_modes_and_pixels():
    gray = torch.linspace(-1, 1, 2 * 4 * 4).view(2, 1, 4, 4)
    pils = to_pil(gray)
    assert [p.mode for p in pils] == ["L", "L"] and pils[0].size == (4, 4)
    assert torch.equal(torch.from_numpy(np.array(pils[1])), to_uint8(gray[1, 0]))
    assert to_pil(torch.zeros(1, 3, 2, 2))[0].mode == "RGB"


def test_grid_layout(tmp_path):
    images = torch.ones(5, 1, 4, 4)  # white tiles
    grid = grid_image(images)  # near-square: 3 per row, 2 rows, 2 px black padding
    assert grid.size == (3 * 6 + 2, 2 * 6 + 2) and grid.mode == "RGB"
    assert grid.getpixel((0, 0)) == (0, 0, 0) and grid.getpixel((2, 2)) == (255, 255, 255)
    assert grid_image(images, nrow=5).size == (5 * 6 + 2, 6 + 2)
    path = save_grid(images, tmp_path / "g.png")
    assert Image.open(path).size == grid.size
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]  # atomic: no temp file left
    paths = save_images(images[:2], tmp_path / "each", prefix="x", start=7)
    assert [p.name for p in paths] == ["x-0007.png", "x-0008.png"]


@pytest.mark.slow
def test_training_grid_and_sample_grid_are_byte_identical(tmp_path, tiny_npz, tiny_overrides):
    run = tmp_path / "run"
    ov = tiny_overrides(tiny_npz, **{"train.steps": 3, "train.n_samples": 9})
    args = [x for k, v in ov.items() for x in (f"--{k}", str(v))]
    assert main(["train", "--out", str(run), "--quiet", *args]) == 0
    trained = (run / "samples" / "step-0000003.png").read_bytes()
    assert main(["sample", str(run), "--n", "9", "--seed", "0", "--out",
                 str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes() == trained
    assert main(["sample", str(run), "--n", "9", "--seed", "1", "--out",
                 str(tmp_path / "t.png")]) == 0
    assert (tmp_path / "t.png").read_bytes() != trained  # another seed: other pixels
