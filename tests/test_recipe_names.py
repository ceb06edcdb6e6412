"""The shipped recipes are package data found by name (issue 19 item 5): `--config demo`,
`--config gan/mnist_dcgan_sn`, the old checkout path `configs/x.yaml`, and a file of one's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelforge.cli.main import main
from pixelforge.configs import find, name_of, names, root
from pixelforge.errors import UserError

PKG = Path(__file__).resolve().parents[1] / "src" / "pixelforge"


def test_the_recipes_live_in_the_package_and_are_all_named():
    assert root() == PKG / "configs"
    on_disk = sorted(p.relative_to(root()).with_suffix("").as_posix()
                     for p in root().rglob("*.yaml"))
    assert names() == on_disk and {"demo", "gan/mnist_dcgan_sn", "restoration/upscale_x4",
                                   "vae/mnist_vae", "translation/facades_pix2pix"} <= set(names())
    assert not (PKG.parents[1] / "configs").exists()  # one copy: no folder beside src/ any more


@pytest.mark.parametrize("spec", ["gan/mnist_dcgan_sn", "gan/mnist_dcgan_sn.yaml",
                                  "configs/gan/mnist_dcgan_sn.yaml",
                                  "./configs/gan/mnist_dcgan_sn.yaml",
                                  "/old/checkout/configs/gan/mnist_dcgan_sn.yaml"])
def test_names_and_old_paths_find_the_shipped_recipe(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of that name here
    assert name_of(spec) == "gan/mnist_dcgan_sn"
    assert find(spec) == root() / "gan" / "mnist_dcgan_sn.yaml"


def test_a_file_that_exists_wins_over_a_recipe_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "demo.yaml").write_text("train: {steps: 7}\n")
    assert find("configs/demo.yaml") == Path("configs/demo.yaml")
    assert find("demo") == root() / "demo.yaml"


@pytest.mark.parametrize("spec, hint", [("dmeo", "did you mean demo?"),
                                        ("mnist_dcgan_sn", "gan/mnist_dcgan_sn"),
                                        ("gan/mnist_dcgan_snn", "gan/mnist_dcgan_sn"),
                                        ("zzzz", "the folders gan/, ")])
def test_an_unknown_name_is_one_line_naming_close_ones(spec, hint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        find(spec)
    msg = str(err.value)
    assert "\n" not in msg and f"config {spec!r} not found" in msg and hint in msg


def test_train_takes_a_recipe_name_and_an_old_path(tmp_path, capsys):
    args = ["--data", "default", "--dry-run"]
    assert main(["train", "--config", "gan/mnist_dcgan_sn", "--out", str(tmp_path / "a"),
                 *args]) == 0
    by_name = capsys.readouterr().out
    assert "spectral_norm: true" in by_name and "loss: hinge" in by_name
    assert main(["train", "--config", "configs/gan/mnist_dcgan_sn.yaml", "--out",
                 str(tmp_path / "b"), *args]) == 0
    captured = capsys.readouterr()
    assert captured.out == by_name and captured.err == ""  # same recipe, no warning
    assert main(["train", "--config", "gan/mnist_dcgan", "--out", str(tmp_path / "c"),
                 *args]) == 0
    assert capsys.readouterr().out != by_name  # a different recipe resolves differently


def test_train_with_an_unknown_recipe_exits_2_with_the_close_names(tmp_path, capsys):
    assert main(["train", "--config", "gan/mnist_dcgan_snn", "--out", str(tmp_path / "r"),
                 "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: config 'gan/mnist_dcgan_snn' not found")
    assert "gan/mnist_dcgan_sn" in err[0]


def test_train_help_lists_every_recipe(capsys):
    assert main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name in names():
        assert name.rsplit("/", 1)[-1] in out, name


def test_the_studio_offers_the_shipped_recipes():
    from pixelforge.studio.app import default_config_dir
    from pixelforge.studio.jobs import recipes

    assert default_config_dir() == root()
    offered = recipes(default_config_dir())
    assert sorted(offered) == names() and offered["demo"]  # each with its leading comment
