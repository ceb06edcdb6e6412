"""Fixtures for restoration tests: small real photo crops (committed) and the shared photos folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"


def load_crop(name: str) -> torch.Tensor:
    """A committed test photo as [3, H, W] in [-1, 1]."""
    with Image.open(DATA / name) as im:
        a = np.asarray(im.convert("RGB"))
    return torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 127.5 - 1


@pytest.fixture(scope="session")
def photo() -> torch.Tensor:
    """A 96x96 crop of a real photograph (public domain; see data/README.md)."""
    return load_crop("colosseum_96.png")


@pytest.fixture(scope="module")
def tiny_photos(tmp_path_factory) -> Path:
    """Three small real photos (the committed test crops) as a training folder."""
    folder = tmp_path_factory.mktemp("photos")
    for f in sorted(DATA.glob("*.png")):
        Image.open(f).convert("RGB").save(folder / f.name)
    return folder


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    if not PHOTOS.is_dir():
        pytest.skip(f"needs the shared photos in {PHOTOS} (absent on a user's fresh clone)")
    return PHOTOS


def randomize(net: torch.nn.Module, seed: int = 0, std: float = 0.05) -> torch.nn.Module:
    """Give every parameter random values (the zero-initialised output layers included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return net.eval()
