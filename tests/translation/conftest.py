"""Tiny random-weight translation checkpoints (no training needed) for pipeline and CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pixelforge.checkpoint import write_components
from pixelforge.models import MODELS


def tiny_cyclegan(seed: int = 0) -> dict:
    torch.manual_seed(seed)
    fam = MODELS.get("cyclegan")
    return {name: fam.build(name, width=4, n_blocks=1).eval()
            for name in ("generator_ab", "generator_ba")}


def tiny_pix2pix(seed: int = 0, **params) -> dict:
    """A 3-level U-Net (stride 8) with BatchNorm statistics moved off their init."""
    torch.manual_seed(seed)
    g = MODELS.get("pix2pix").build("generator", width=4, depth=3, **params)
    g.train()
    with torch.no_grad():
        for _ in range(3):
            g(torch.randn(4, g.in_channels, 16, 16))
    return {"generator_ab": g.eval()}


@pytest.fixture
def make_cyclegan():
    """tiny_cyclegan(seed) -> {"generator_ab": ..., "generator_ba": ...} (random weights)."""
    return tiny_cyclegan


@pytest.fixture
def make_pix2pix():
    """tiny_pix2pix(seed, **params) -> {"generator_ab": U-Net of depth 3} (random weights)."""
    return tiny_pix2pix


@pytest.fixture(scope="session")
def cyclegan_ckpt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "cyclegan"
    write_components(path, tiny_cyclegan(), model="cyclegan", kind="translation",
                     pipeline="translate")
    return path


@pytest.fixture(scope="session")
def colorize_ckpt(tmp_path_factory) -> Path:
    """A pix2pix colouriser: A gray (1 channel) -> B colour (3 channels), direction a2b only."""
    path = tmp_path_factory.mktemp("ckpt") / "colorize"
    write_components(path, tiny_pix2pix(in_channels=1), model="pix2pix", kind="translation",
                     pipeline="translate")
    return path


def _flat(state, prefix=""):
    if isinstance(state, dict):
        for k, v in state.items():
            yield from _flat(v, f"{prefix}.{k}")
    elif isinstance(state, list | tuple):
        for i, v in enumerate(state):
            yield from _flat(v, f"{prefix}.{i}")
    elif isinstance(state, torch.Tensor):
        yield prefix, state


@pytest.fixture
def flat_tensors():
    """flat_tensors(state) -> {".G.w": tensor, ...}: every tensor of a nested training state, by
    path, to compare two states tensor for tensor."""
    return lambda state: dict(_flat(state))
