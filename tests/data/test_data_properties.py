"""Property tests: any image mode, size, filter and target always yields the promised shape."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pixelforge.data import load_images
from pixelforge.data.decode import decode_image
from pixelforge.data.options import RESIZE_FILTERS, LoadOptions
from pixelforge.data.pixels import prepare_batch

# PIL mode -> file formats that store it
FORMATS = {
    "L": ["png", "jpg", "bmp", "webp", "tif"],
    "RGB": ["png", "jpg", "bmp", "webp", "tif"],
    "RGBA": ["png", "webp", "tif"],
    "LA": ["png", "tif"],
    "P": ["png", "bmp", "tif"],
    "1": ["png", "bmp"],
    "I;16": ["png", "tif"],
    "CMYK": ["jpg", "tif"],
}
options = st.builds(
    LoadOptions,
    image_size=st.integers(1, 40),
    channels=st.sampled_from([1, 3]),
    resize_filter=st.sampled_from(RESIZE_FILTERS),
)


@st.composite
def image_files(draw) -> tuple[bytes, str]:
    mode = draw(st.sampled_from(sorted(FORMATS)))
    fmt = draw(st.sampled_from(FORMATS[mode]))
    width, height = draw(st.integers(1, 70)), draw(st.integers(1, 70))
    seed = draw(st.integers(0, 2**16))
    make = draw_image(mode, width, height, seed)
    buffer = io.BytesIO()
    make.save(buffer, format={"jpg": "JPEG", "tif": "TIFF"}.get(fmt, fmt.upper()))
    return buffer.getvalue(), fmt


def draw_image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    rgba = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8))
    return rgba.convert(mode) if mode != "LA" else rgba.convert("L").convert("LA")


@settings(max_examples=60, deadline=None)
@given(image_files(), options)
def test_any_decodable_file_gives_the_exact_shape(file: tuple[bytes, str], opts: LoadOptions):
    data, fmt = file
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"img.{fmt}"
        path.write_bytes(data)
        image = decode_image(path, opts)
    assert image.shape == (opts.channels, opts.image_size, opts.image_size)
    assert image.dtype == torch.uint8 and image.is_contiguous()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 30),
    st.integers(1, 30),
    st.integers(1, 5),
    options,
)
def test_any_array_batch_gives_the_exact_shape(c: int, h: int, w: int, n: int, opts: LoadOptions):
    batch = np.random.default_rng(h * 31 + w).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    out = prepare_batch(batch, opts)
    assert out.shape == (n, opts.channels, opts.image_size, opts.image_size)
    assert out.dtype == torch.uint8


@settings(max_examples=15, deadline=None)
@given(st.lists(image_files(), min_size=1, max_size=4), options)
def test_folders_of_random_images_load_completely(files: list, opts: LoadOptions):
    with tempfile.TemporaryDirectory() as folder:
        for i, (data, fmt) in enumerate(files):
            (Path(folder) / f"{i:02d}.{fmt}").write_bytes(data)
        ds = load_images(
            folder,
            image_size=opts.image_size,
            channels=opts.channels,
            resize_filter=opts.resize_filter,
        )
        assert len(ds) == len(files) and ds.skipped == []
        image, label = ds[len(ds) - 1]
    assert image.shape == (opts.channels, opts.image_size, opts.image_size)
    assert -1.0 <= float(image.min()) <= float(image.max()) <= 1.0 and label == -1
