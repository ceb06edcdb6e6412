"""The translation recipes: commented, valid against today's schema (plus the proposed keys),
real models and options, data that exists, networks that build at the configured size."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from pixelforge.config import DataConfig, RunConfig, build_config
from pixelforge.configs import root as configs_root
from pixelforge.models import MODELS

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((configs_root() / "translation").glob("*.yaml"))
# keys proposed for config.py with the translation tasks (validated here once they exist there)
PROPOSED = {"translation": None, "data": ("direction", "classes", "classes_b")}


def _known_part(tree: dict) -> dict:
    tree = {k: dict(v) if isinstance(v, dict) else v for k, v in tree.items()}
    if "translation" not in RunConfig.model_fields:
        tree.pop("translation", None)
    for key in PROPOSED["data"]:
        if key not in DataConfig.model_fields:
            tree.get("data", {}).pop(key, None)
    return tree


def test_the_four_recipes_are_there():
    assert {p.stem for p in RECIPES} == {"facades_pix2pix", "photos_colorize", "facades_cyclegan",
                                         "cifar10_cat2dog_cyclegan", "photos_colorize_chroma"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_is_commented_valid_and_builds(path):
    text = path.read_text()
    assert text.startswith("# ") and len(text.split("\n\n")[0].splitlines()) >= 3
    tree = yaml.safe_load(text)
    cfg = build_config(_known_part(tree), source=str(path))
    family = MODELS.get(cfg.model.name)
    assert (family.kind, cfg.model.name) in (("translation", "pix2pix"),
                                             ("translation", "cyclegan"),
                                             ("colorize", "colorizer"))
    family.check_params(cfg.model.params)
    assert tree["data"].get("direction", "a2b") in ("a2b", "b2a")
    size = cfg.model.image_size
    for role in family.networks:
        net = family.build(role, channels=cfg.model.channels, **cfg.model.params)
        stride = getattr(net, "stride", 1)
        assert size % stride == 0, f"{role}: {size} px is not a multiple of its stride {stride}"
        if role.startswith("generator"):
            x = torch.zeros(1, net.in_channels, size, size)
            with torch.no_grad():
                assert net.eval()(x).shape == (1, net.out_channels, size, size)


@pytest.mark.shared_data
@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_data_exists(path, shared_data):
    data = yaml.safe_load(path.read_text())["data"]
    for key in ("path", "path_b"):
        if data.get(key):
            spec = data[key].split(".npz:")[0] + (".npz" if ".npz:" in data[key] else "")
            assert (ROOT / spec).resolve().exists(), f"{path.name}: data.{key} {spec} is missing"
