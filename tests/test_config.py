"""Config validation: defaults, YAML, dotted overrides, and errors that name the field."""

import pytest

from pixelforge.config import build_config, dump_config, load_config
from pixelforge.errors import UserError


def test_defaults_and_overrides():
    cfg = build_config({"train": {"steps": 10}}, {"train.lr_g": "1e-4", "model.channels": 3})
    assert cfg.train.steps == 10
    assert cfg.train.lr_g == pytest.approx(1e-4)
    assert cfg.model.channels == 3
    assert cfg.train.lr_d == pytest.approx(2e-4)


def test_unknown_key_names_field_and_allowed():
    with pytest.raises(UserError) as err:
        build_config({}, {"train.lr": 1e-4})
    msg = str(err.value)
    assert "train.lr" in msg and "lr_g" in msg and "unknown key" in msg


def test_bad_value_names_allowed_values():
    with pytest.raises(UserError) as err:
        build_config({}, {"train.precision": "fp8"})
    assert "train.precision" in str(err.value) and "'bf16'" in str(err.value)
    with pytest.raises(UserError, match="train.loss.*non-saturating"):
        build_config({}, {"train.loss": "hinge-typo"})
    with pytest.raises(UserError, match="train.steps"):
        build_config({}, {"train.steps": 0})


def test_bad_override_shape():
    with pytest.raises(UserError, match="section.key"):
        build_config({}, {"steps": 3})


def test_yaml_roundtrip(tmp_path):
    cfg = build_config({}, {"model.name": "dcgan", "train.betas": [0.0, 0.99]})
    p = tmp_path / "c.yaml"
    p.write_text(dump_config(cfg))
    again = load_config(p)
    assert again == cfg


def test_shipped_configs_validate():
    from pixelforge.configs import root

    files = sorted(root().glob("*.yaml"))
    assert files
    for f in files:
        load_config(f)


def test_yaml_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n- not a mapping\n")
    with pytest.raises(UserError, match="mapping"):
        load_config(bad)
