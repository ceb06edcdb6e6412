"""Fixtures for the data-layer tests: tiny image folders, .npz writers and the shared data folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHARED_DIR = REPO.parent / "shared" / "data"


def _make_image(mode: str, width: int, height: int, seed: int = 0) -> Image.Image:
    """A random image in PIL `mode` (L, RGB, RGBA, LA, P, 1, I;16, CMYK)."""
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        values = rng.integers(0, 65536, (height, width), dtype=np.uint16)
        return Image.fromarray(values)
    bands = {"L": 1, "1": 1, "P": 3, "RGB": 3, "RGBA": 4, "LA": 2, "CMYK": 4}[mode]
    values = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
    if mode in ("L", "1"):
        return Image.fromarray(values[..., 0]).convert(mode)
    if mode == "P":
        return Image.fromarray(values).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    if mode == "LA":
        return Image.fromarray(values[..., 0]).convert("LA")
    return Image.frombytes(mode, (width, height), values.tobytes())


def _save_image(img: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@pytest.fixture
def make_image() -> Callable[..., Image.Image]:
    """make_image(mode, width, height, seed=0) -> a random PIL image in that mode."""
    return _make_image


@pytest.fixture
def save_image() -> Callable[[Image.Image, Path], Path]:
    """save_image(img, path) -> path, creating parent folders; the suffix picks the format."""
    return _save_image


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Six good images (L, RGB, RGBA, P, LA, 16-bit; assorted sizes) and two corrupt files."""
    root = tmp_path / "mixed"
    good = [
        ("L", 40, 30, "a_gray.png"),
        ("RGB", 17, 61, "b_rgb.JPG"),
        ("RGBA", 25, 25, "c_rgba.png"),
        ("P", 64, 48, "d_palette.bmp"),
        ("LA", 9, 12, "e_la.tif"),
        ("I;16", 33, 20, "f_16bit.png"),
    ]
    for i, (mode, w, h, name) in enumerate(good):
        _save_image(_make_image(mode, w, h, seed=i), root / "sub" / name if i % 2 else root / name)
    data = (root / "a_gray.png").read_bytes()
    (root / "g_truncated.png").write_bytes(data[: len(data) // 2])
    (root / "h_text.jpg").write_text("this is not a jpeg\n")
    (root / "notes.txt").write_text("ignored: not an image extension\n")
    return root


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    """Three classes in first-level subfolders (2, 3 and 1 images)."""
    root = tmp_path / "classes"
    counts = {"cat": 2, "dog": 3, "bird": 1}
    for c, (name, count) in enumerate(counts.items()):
        for i in range(count):
            _save_image(_make_image("RGB", 20 + i, 20, seed=10 * c + i), root / name / f"{i}.png")
    return root


@pytest.fixture
def write_npz(tmp_path: Path) -> Callable[..., Path]:
    """write_npz(name, **arrays) -> path of a fresh np.savez file under tmp_path."""

    def write(name: str = "data.npz", **arrays: np.ndarray) -> Path:
        path = tmp_path / name
        np.savez(path, **arrays)
        return path

    return write


@pytest.fixture
def digits() -> tuple[np.ndarray, np.ndarray]:
    """30 random 12x12 gray images and labels 0-4 (every class present)."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (30, 12, 12, 1), dtype=np.uint8)
    y = np.arange(30, dtype=np.uint8) % 5
    return x, y


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"needs the shared data sets in {SHARED_DIR} (absent on a fresh clone)")
    return SHARED_DIR
