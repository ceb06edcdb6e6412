"""Defaults from the data (channels, size) and from the measurements (recipes), issue 12 item 11."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from pixelforge.cli.main import main
from pixelforge.config import build_config
from pixelforge.configs import find
from pixelforge.configs import root as configs_root
from pixelforge.data.probe import probe_data
from pixelforge.recipes import RECIPES, nearest_size, recipe_for, resolve_run_config


def _folder(root: Path, n: int, size: int, colour: bool, fmt: str = "png") -> Path:
    """n smooth random pictures; grey ones are saved as RGB so the probe must look at pixels."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0, 255, size)
    for i in range(n):
        base = np.add.outer(ramp, ramp[::-1]) / 2 + rng.normal(0, 10, (size, size))
        if colour:
            rgb = np.stack([base, np.roll(base, 7 * i + 5, 0), 255 - base], -1)
        else:
            rgb = np.repeat(base[..., None], 3, -1)
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(root / f"img{i:02d}.{fmt}")
    return root


@pytest.fixture(scope="module")
def colour64(tmp_path_factory) -> Path:
    return _folder(tmp_path_factory.mktemp("colour") / "pics", 16, 64, colour=True)


def _dry_run(capsys, *argv: str) -> tuple[dict, str]:
    assert main(["train", "--out", "unused-run", "--dry-run", *argv]) == 0
    out = capsys.readouterr().out
    return yaml.safe_load(out), out


def test_colour_folder_trains_a_colour_64px_model_without_overrides(tmp_path, colour64, capsys):
    run = tmp_path / "run"
    # no model.channels / model.image_size: both come from the data; width and steps only keep
    # the test fast
    code = main(["train", "--model", "dcgan", "--data", str(colour64), "--out", str(run),
                 "--quiet", "--steps", "1", "--train.batch_size", "8", "--model.params.width", "8",
                 "--train.precision", "fp32"])
    assert code == 0, capsys.readouterr().err
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert (saved["model"]["channels"], saved["model"]["image_size"]) == (3, 64)
    assert saved["train"]["ema_decay"] == 0.995  # the colour recipe, not the plain 0.999
    gen_cfg = next(run.glob("checkpoints/step-*/**/config.json"))
    cfg = json.loads(gen_cfg.read_text())
    assert (cfg["channels"], cfg["image_size"]) == (3, 64)
    grid = tmp_path / "g.png"
    assert main(["sample", str(run), "--n", "1", "--out", str(grid)]) == 0
    assert Image.open(grid).mode == "RGB"


def test_python_api_resolves_like_the_cli(tmp_path, colour64):
    """pixelforge.training.train() (and Trainer) resolve unset channels/size the same way."""
    from pixelforge.training import train

    cfg = build_config({}, {"model.name": "dcgan", "data.path": str(colour64),
                            "train.steps": 1, "train.batch_size": 8, "model.params": {"width": 8},
                            "train.precision": "fp32"})
    train(cfg, tmp_path / "run", progress=False)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert (saved["model"]["channels"], saved["model"]["image_size"]) == (3, 64)


def test_grayscale_npz_gives_grayscale_model(tiny_npz, capsys):
    cfg, out = _dry_run(capsys, "--model", "dcgan", "--data", str(tiny_npz))
    assert (cfg["model"]["channels"], cfg["model"]["image_size"]) == (1, 28)
    # the recommended small-grayscale recipe (gan/mnist_dcgan_sn)
    assert cfg["model"]["params"] == {"width": 32, "spectral_norm": True}
    assert cfg["train"]["loss"] == "hinge" and cfg["train"]["betas"] == [0.0, 0.9]
    assert "# model.channels: 1" in out and "recipe: gan/mnist_dcgan_sn " in out


def test_explicit_values_win(colour64, capsys):
    cfg, out = _dry_run(capsys, "--model", "dcgan", "--data", str(colour64),
                        "--model.channels", "1", "--model.image_size", "32",
                        "--train.loss", "wasserstein", "--model.params.width", "16")
    assert (cfg["model"]["channels"], cfg["model"]["image_size"]) == (1, 32)
    assert cfg["train"]["loss"] == "wasserstein"  # user's, not the recipe's hinge
    assert cfg["model"]["params"] == {"width": 16}  # the user's params replace the recipe's
    assert "model.channels:" not in out.split("model:")[0]  # nothing was chosen for them


def test_dry_run_shows_resolved_values(colour64, capsys):
    cfg, out = _dry_run(capsys, "--model", "dcgan", "--data", str(colour64))
    assert (cfg["model"]["channels"], cfg["model"]["image_size"]) == (3, 64)
    # 64 px colour pictures are photos: the photo recipe, measured at 64 and 128 px
    # (benchmarks/photo_gan.py), so no caveat; a grayscale recipe (measured at 28 and 32 px)
    # used at 64 px says it is the nearest measured choice
    assert "colour, typical size 64 px" in out and "recipe: gan/photos_dcgan " in out
    assert "not yet measured" not in out and "nearest measured choice" not in out
    gray = build_config({}, {"data.path": str(colour64), "model.channels": 1,
                             "model.image_size": 64, "model.name": "dcgan"})
    _, notes = resolve_run_config(gray)
    assert any("measured at 28 and 32 px; at 64 px it is the nearest measured choice" in n
               for n in notes), notes


def test_without_model_colour_photos_get_the_photo_recipe_at_64px(tmp_path, capsys):
    photos = _folder(tmp_path / "photos", 6, 200, colour=True, fmt="jpg")
    cfg, out = _dry_run(capsys, "--data", str(photos))
    assert cfg["model"]["name"] == "dcgan"
    assert (cfg["model"]["channels"], cfg["model"]["image_size"]) == (3, 64)
    assert cfg["model"]["params"] == {"width": 32, "spectral_norm": True}
    assert (cfg["train"]["loss"], cfg["train"]["batch_size"]) == ("hinge", 32)
    assert "model.name: dcgan (no --model: the recommended family for 6 colour-photo" in out
    assert "capped at 64 by gan/photos_dcgan" in out
    assert "warning" not in out  # a ~25 MB checkpoint


def test_without_model_small_data_gets_the_measured_recipe_of_its_kind(tiny_npz, capsys):
    cfg, out = _dry_run(capsys, "--data", str(tiny_npz))
    assert (cfg["model"]["name"], cfg["model"]["image_size"]) == ("dcgan", 28)
    assert "recipe: gan/mnist_dcgan_sn " in out and "512 grayscale images" in out
    cifar_like = build_config({}, {"data.path": "cifar10"})
    resolved, _ = resolve_run_config(cifar_like)
    assert (resolved.model.name, resolved.model.image_size, resolved.model.params) == (
        "dcgan", 32, {"width": 64})  # gan/cifar10_dcgan


def test_seed_dcgan_stays_available_by_name_and_big_checkpoints_are_warned(tmp_path, capsys):
    photos = _folder(tmp_path / "photos", 4, 200, colour=True, fmt="jpg")
    cfg, out = _dry_run(capsys, "--model", "seed-dcgan", "--data", str(photos))
    assert (cfg["model"]["name"], cfg["model"]["image_size"]) == ("seed-dcgan", 128)
    warning = next(line for line in out.splitlines() if line.startswith("# warning:"))
    assert "seed-dcgan at 128 px will be ~1.4 GB (3 kept: ~4.1 GB)" in warning


def test_the_checkpoint_estimate_is_near_the_written_size(tmp_path, tiny_npz):
    """The estimate behind the warning, against a real checkpoint's bytes on disk."""
    from pixelforge.recipes import checkpoint_bytes
    from pixelforge.training import train

    cfg = build_config({}, {"model.name": "dcgan", "data.path": str(tiny_npz),
                            "model.params": {"width": 32}, "model.image_size": 32,
                            "train.steps": 1, "train.batch_size": 8, "train.precision": "fp32"})
    res = train(cfg, tmp_path / "run", progress=False)
    written = sum(f.stat().st_size for f in res.checkpoint.rglob("*.safetensors"))
    estimate = checkpoint_bytes(resolve_run_config(cfg)[0])
    assert 0.8 * written <= estimate <= 1.25 * written, (estimate, written)


def test_a_second_image_set_without_model_asks_for_a_translation_model(tiny_npz, capsys):
    assert main(["train", "--out", "unused-run", "--dry-run", "--data", str(tiny_npz),
                 "--data.path_b", str(tiny_npz)]) == 2
    assert "--model pix2pix" in capsys.readouterr().err


def test_recipe_none_keeps_the_2016_dcgan_recipe(colour64, capsys):
    cfg, _ = _dry_run(capsys, "--model", "dcgan", "--data", str(colour64),
                      "--model.recipe", "none")
    t = cfg["train"]
    assert (t["loss"], t["betas"], t["lr_g"], t["lr_d"]) == ("non-saturating", [0.5, 0.999],
                                                            2e-4, 2e-4)
    assert t["ema_decay"] == 0.999 and cfg["model"]["params"] == {}
    assert cfg["model"]["channels"] == 3  # the data still decides the shape


def test_resolution_is_idempotent(colour64):
    once, notes = resolve_run_config(build_config({}, {"model.name": "dcgan",
                                                       "data.path": str(colour64)}))
    assert notes
    twice, again = resolve_run_config(once)
    assert twice == once and again == []


@pytest.mark.parametrize("family,typical,expected", [
    ("dcgan", 64, 64), ("dcgan", 100, 96), ("dcgan", 30, 32), ("dcgan", 5, 16),
    ("dcgan", 432, 128), ("seed-dcgan", 28, 32), ("stylegan-lite", 28, 28),
    ("resnet-gan", 150, 128),
])
def test_nearest_size_the_family_builds(family, typical, expected):
    assert nearest_size(family, typical, 3, 64, {}) == expected


def test_probe_reads_colour_from_pixels_not_the_file_mode(tmp_path):
    grey_rgb_jpegs = _folder(tmp_path / "grey", 6, 40, colour=False, fmt="jpg")
    probe = probe_data(str(grey_rgb_jpegs))
    assert (probe.channels, probe.size) == (1, 40)
    colour = _folder(tmp_path / "colour", 3, 24, colour=True)
    assert probe_data(str(colour)).channels == 3
    arr = np.stack([np.asarray(Image.open(p)) for p in sorted(colour.iterdir())])
    np.savez(tmp_path / "c.npz", x=arr)
    assert (probe_data(str(tmp_path / "c.npz")).channels, probe_data("cifar10").size) == (3, 32)
    np.savez(tmp_path / "g.npz", x=np.repeat(arr[..., :1], 3, -1))
    assert probe_data(str(tmp_path / "g.npz")).channels == 1


def test_recipes_match_their_config_files():
    """Each built-in recipe is the training part of the config file it names, value for value."""
    for (family, kind), recipe in RECIPES.items():
        tree = yaml.safe_load(find(recipe.source).read_text())
        assert tree["model"]["name"] == family
        assert tree["model"]["channels"] == (3 if kind.startswith("colour") else 1)
        if kind == "colour-photo":
            assert tree["model"]["image_size"] == recipe.max_size
        for dotted, value in recipe.values.items():
            section, key = dotted.split(".")
            default = build_config({}).model_dump()[section][key]
            got = tree.get(section, {}).get(key, default)
            if isinstance(value, tuple):
                got = tuple(got)
            if key == "params":
                got = {k: v for k, v in got.items() if k != "num_classes"}  # from the data
            assert got == value, f"{recipe.source}: {dotted} is {got!r}, recipe has {value!r}"
    assert recipe_for("seed-dcgan", 1) is None  # no measured recipe: plain defaults


def test_shipped_configs_do_not_mix_with_a_recipe():
    """A shipped config is either a recommended recipe or says `recipe: none`: resolving it with
    the recipe on changes nothing (so a config file is always the whole recipe)."""
    from pixelforge.config import load_yaml

    files = sorted(configs_root().rglob("*.yaml"))
    assert files
    for f in files:
        tree = load_yaml(f)
        if tree.get("model", {}).get("name") not in {name for name, _ in RECIPES}:
            continue
        tree.setdefault("data", {})["path"] = "default"
        auto, _ = resolve_run_config(build_config(tree))
        tree["model"]["recipe"] = "none"
        plain, _ = resolve_run_config(build_config(tree))
        assert auto.model_copy(update={"model": auto.model.model_copy(
            update={"recipe": "none"})}) == plain, f.name


def test_a_conditional_family_with_an_ac_gan_head_gets_its_size_from_the_data(tmp_path):
    """The size probe builds the class-dependent parts too (an AC-GAN head needs classes)."""
    import numpy as np

    from pixelforge.config import build_config
    from pixelforge.recipes import resolve_run_config

    path = tmp_path / "digits.npz"
    np.savez(path, x=np.zeros((8, 28, 28), np.uint8), y=np.arange(8) % 2)
    cfg = build_config({}, {"model.name": "dcgan", "model.conditional": True,
                            "model.params": {"aux_classifier": True}, "data.path": str(path)})
    assert resolve_run_config(cfg)[0].model.image_size == 28
