"""Restoration training accepts an .npz of photos: the same pictures as a folder give the same
degraded items, and `pixelforge train` runs on it end to end."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from pixelforge.cli.main import main
from pixelforge.config import build_config
from pixelforge.data.degraded_photos import build_degraded

from .conftest import DATA


def _photos(tmp_path):
    """The committed crops cut to 40 x 40: as a folder of PNGs and as one .npz (x_train)."""
    folder = tmp_path / "folder"
    folder.mkdir()
    arrays = []
    for f in sorted(DATA.glob("*.png")):
        a = np.asarray(Image.open(f).convert("RGB"))[:40, :40]
        Image.fromarray(a).save(folder / f.name)
        arrays.append(a)
    np.savez(tmp_path / "photos.npz", x_train=np.stack(arrays))
    return folder, tmp_path / "photos.npz"


def _cfg(path):
    return build_config({}, {"model.name": "dncnn", "model.image_size": 24, "model.channels": 3,
                             "model.params": {"depth": 3, "width": 8}, "data.path": str(path),
                             "restore.patches_per_image": 4})


def test_an_npz_gives_the_items_a_folder_of_the_same_photos_gives(tmp_path):
    folder, npz = _photos(tmp_path)
    a, b = build_degraded(_cfg(folder)), build_degraded(_cfg(npz))
    assert len(a) == len(b) == 4 * len(list(folder.iterdir()))
    for i in (0, 1, len(a) - 1):
        for key in ("input", "target"):
            assert torch.equal(a[i][key], b[i][key])
    assert str(npz) in b.description


def test_cli_trains_a_denoiser_on_an_npz_of_photos(tmp_path, capsys):
    _, npz = _photos(tmp_path)
    code = main(["train", "--model", "dncnn", "--data", str(npz), "--steps", "1", "--quiet",
                 "--out", str(tmp_path / "run"), "--model.image_size", "24",
                 "--model.channels", "3", "--model.params", "{depth: 3, width: 8}",
                 "--restore.patches_per_image", "4", "--train.batch_size", "2",
                 "--train.precision", "fp32"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "checkpoints").is_dir()
