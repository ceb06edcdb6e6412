"""The sharp photo upscaler's code path (issue 20, model 2): its recipe fine-tunes the shipped x4
model on realistic degradations through the CLI and resumes exactly; `--model` takes a shipped
model's name; a known model missing from the install is refused in one line; the studio lists
shipped models from the same table."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from pixelforge.api import load
from pixelforge.cli.main import main
from pixelforge.pipelines import restore

from .conftest import DATA

PHOTO = "upscale-x4-photo"
PHOTO_SHIPPED = (restore.SHIPPED_DIR / PHOTO / "model_index.json").is_file()


@pytest.fixture(scope="module")
def tiny_photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for f in sorted(DATA.glob("*.png")):
        Image.open(f).convert("RGB").save(folder / f.name)
    return folder


def recipe_args(data, out, steps: int) -> list[str]:
    """The shipped recipe, shrunk to seconds: 48 px crops, batch 2, `steps` steps."""
    return ["train", "--config", "restoration/upscale_x4_photo", "--data", str(data),
            "--out", str(out), "--steps", str(steps), "--quiet", "--model.image_size", "48",
            "--train.batch_size", "2", "--train.precision", "fp32",
            "--restore.patches_per_image", "2", "--train.checkpoint_every", "2"]


def task_state(run) -> dict[str, torch.Tensor]:
    ckpt = run / "checkpoints" / "latest"
    ckpt = run / "checkpoints" / ckpt.read_text().strip() if ckpt.is_file() else ckpt.resolve()
    state = load_file(str(ckpt / "training_state.safetensors"))
    return {k: v for k, v in state.items() if k.startswith("t.task.")}


def test_recipe_fine_tunes_the_shipped_x4_on_realistic_inputs_and_resumes(tiny_photos, tmp_path):
    assert main(recipe_args(tiny_photos, tmp_path / "full", 3)) == 0
    cfg = (tmp_path / "full" / "config.yaml").read_text()
    assert "degradation: realistic" in cfg and "feature_net: gabor" in cfg
    logs = [json.loads(line) for line in (tmp_path / "full" / "train_log.jsonl").open()]
    seen = set().union(*(row.keys() for row in logs))
    assert {"loss_pixel", "loss_feature", "loss_adv"} <= seen  # L1 + perceptual + GAN
    tuned = load(tmp_path / "full", component="upscaler").state_dict()
    start = load(restore.SHIPPED_DIR / "upscale-x4", component="upscaler").state_dict()
    moved = max(float((tuned[k] - start[k]).abs().max()) for k in start)
    assert 0 < moved < 0.05  # started from the shipped weights, moved a little at lr 1e-4

    assert main(recipe_args(tiny_photos, tmp_path / "staged", 2)) == 0
    assert main([*recipe_args(tiny_photos, tmp_path / "staged", 3), "--resume"]) == 0
    a, b = task_state(tmp_path / "full"), task_state(tmp_path / "staged")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def png(path, seed=0, size=(23, 17)) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)


def err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_a_shipped_name_is_the_same_model_as_the_default(tmp_path):
    png(tmp_path / "a.png")
    assert main(["upscale", str(tmp_path / "a.png"), "--out", str(tmp_path / "default"),
                 "--precision", "fp32"]) == 0
    assert main(["upscale", str(tmp_path / "a.png"), "--model", "upscale-x4", "--out",
                 str(tmp_path / "named"), "--precision", "fp32"]) == 0
    a = np.asarray(Image.open(tmp_path / "default" / "a.png"))
    b = np.asarray(Image.open(tmp_path / "named" / "a.png"))
    assert a.shape == (92, 68, 3) and np.array_equal(a, b)


def test_a_known_model_missing_from_the_install_is_refused_in_one_line(tmp_path, capsys,
                                                                       monkeypatch):
    """An install whose models folder lacks upscale-x4-photo (before it shipped, or a slim
    build) refuses it by name in one line, listing the upscalers it has."""
    fake = tmp_path / "models"
    fake.mkdir()
    for folder in restore.SHIPPED_DIR.iterdir():
        if folder.is_dir() and folder.name != PHOTO:
            (fake / folder.name).symlink_to(folder)
    monkeypatch.setattr(restore, "SHIPPED_DIR", fake)
    png(tmp_path / "a.png")
    assert main(["upscale", str(tmp_path / "a.png"), "--model", PHOTO, "--out",
                 str(tmp_path / "o")]) == 2
    line = err_line(capsys)
    assert f"--model {PHOTO}: not shipped in this version of pixelforge" in line
    assert "shipped upscale models: upscale-x2, upscale-x4" in line
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_an_unknown_name_lists_the_shipped_models(tmp_path, capsys):
    png(tmp_path / "a.png")
    assert main(["upscale", str(tmp_path / "a.png"), "--model", "upscale-x9", "--out",
                 str(tmp_path / "o")]) == 2
    line = err_line(capsys)
    assert "--model upscale-x9: no such run or checkpoint folder" in line
    assert "upscale-x2, upscale-x4" in line
    assert main(["denoise", str(tmp_path / "a.png"), "--model", "upscale-x4", "--out",
                 str(tmp_path / "o")]) == 2  # a shipped name of another kind
    assert "denoise-blind" in err_line(capsys)


def test_shipped_models_come_from_one_table_for_cli_and_studio(tmp_path, monkeypatch):
    from pixelforge.studio.pages_restore import SHIPPED_PREFIX, shipped_models

    assert set(restore.SHIPPED.values()) | {PHOTO} <= set(restore.SHIPPED_MODELS)
    assert restore.SHIPPED_MODELS[PHOTO] == "upscale"
    listed = {name.removeprefix(SHIPPED_PREFIX) for name in shipped_models()}
    assert listed == set(restore.shipped_models())
    assert (PHOTO in listed) == PHOTO_SHIPPED
    # once its folder is installed, the photo model is listed (and loads by name)
    fake = tmp_path / "models"
    (fake / PHOTO).mkdir(parents=True)
    (fake / PHOTO / "model_index.json").write_text("{}")
    monkeypatch.setattr(restore, "SHIPPED_DIR", fake)
    assert set(shipped_models()) == {SHIPPED_PREFIX + PHOTO}
    assert restore.shipped_model("upscale", PHOTO) == fake / PHOTO
