"""Aligned pairs and side-by-side A|B images load identically through the "paired" builder,
also when the data layer resizes them (the facades case: stored larger than trained).

Like is compared with like: arrays with arrays, files with files (arrays are resized with torch's
kernels, files with PIL's, which differ by up to one grey level by design, data/pixels.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.config import build_config
from pixelforge.data.builders import build_dataset


def _cfg(path, path_b=None, size=8):
    return build_config({}, {"data.path": str(path), "data.path_b": path_b and str(path_b),
                             "model.image_size": size, "model.channels": 3})


def _write_folder(folder, images):
    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:02d}.png")


@pytest.mark.parametrize("layout", ["npz", "folder"])
def test_aligned_and_side_by_side_give_the_same_pairs(tmp_path, layout):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    both = np.concatenate([a, b], axis=2)  # [5, 16, 32, 3]: A | B
    if layout == "npz":
        np.savez(tmp_path / "d.npz", x_a=a, x_b=b, x=both)
        aligned_specs = (f"{tmp_path / 'd.npz'}:x_a", f"{tmp_path / 'd.npz'}:x_b")
        side = f"{tmp_path / 'd.npz'}:x"
    else:
        for name, images in (("A", a), ("B", b), ("AB", both)):
            _write_folder(tmp_path / name, images)
        aligned_specs, side = (tmp_path / "A", tmp_path / "B"), tmp_path / "AB"
    for size in (16, 8):  # as stored, and resized by the data layer
        aligned = build_dataset("paired", _cfg(*aligned_specs, size=size))
        split = build_dataset("paired", _cfg(side, size=size))
        assert len(aligned) == len(split) == 5
        for i in range(5):
            for key in ("input", "target"):
                assert torch.equal(aligned[i][key], split[i][key]), (size, i, key)
    assert not torch.equal(split[0]["input"], split[0]["target"])  # the halves really differ
