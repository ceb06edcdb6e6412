"""Model kinds are declared once (pixelforge.kinds) and every registry reads the declarations:
the built-in declarations resolve to what each layer expects, every family's kind is declared,
and a kind's own config section is validated like a built-in one. The one-file plugin kind is
tests/training/test_two_network_kind.py."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

import pixelforge.config
from pixelforge.config import build_config, dump_config
from pixelforge.errors import UserError
from pixelforge.kinds import KINDS, Kind, _import_plugin, _kinds_of, all_kinds, resolve
from pixelforge.metrics.kinds import EVALUATORS
from pixelforge.models import MODELS
from pixelforge.pipelines import PIPELINES
from pixelforge.training.task import TASKS, Task, task_class

BUILT_IN = {"gan", "vae", "vae-gan", "merf", "denoise", "upscale", "inpaint", "translation",
            "classifier", "discriminator", "colorize"}


def test_every_built_in_kind_is_declared_once_and_resolves():
    assert {k.name for k in all_kinds()} >= BUILT_IN
    for kind in all_kinds():
        if kind.name not in BUILT_IN:
            continue
        for fam in (MODELS.get(n) for n in MODELS.names()):
            if fam.kind != kind.name:
                continue
            if kind.trainable:
                assert issubclass(task_class(fam), Task), fam.name
                assert callable(resolve(kind.data_for(fam.name))), fam.name
        if kind.pipeline:
            assert PIPELINES.get(kind.pipeline) is resolve(kind.pipeline_class)
            assert PIPELINES.get(kind.pipeline).name == kind.pipeline
        if kind.evaluator:
            assert EVALUATORS.get(kind.name) is resolve(kind.evaluator)
        if kind.config:
            assert kind.config[0] in pixelforge.config.RunConfig.model_fields
    assert TASKS.get("gan") is resolve(KINDS.get("gan").task)


def test_every_family_has_a_declared_kind():
    kinds = set(KINDS.names())
    assert {MODELS.get(n).kind for n in MODELS.names()} <= kinds
    assert {"dcgan", "pix2pix", "cyclegan", "srresnet", "cnn"} <= set(MODELS.names())


def test_translation_families_train_with_their_own_task_and_data():
    from pixelforge.training.translate import CycleGANTask, Pix2PixTask

    assert task_class(MODELS.get("pix2pix")) is Pix2PixTask
    assert task_class(MODELS.get("cyclegan")) is CycleGANTask
    kind = KINDS.get("translation")
    assert kind.data_for("pix2pix") != kind.data_for("cyclegan")


def test_untrainable_kinds_say_so():
    with pytest.raises(UserError, match="'cnn' \\(classifier\\) cannot be trained.*gan"):
        task_class(MODELS.get("cnn"))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(1.0, gt=0)


def test_a_kind_section_is_validated_and_defaulted(monkeypatch):
    monkeypatch.setattr(pixelforge.config, "kind_sections", lambda: {"extra": _Section})
    assert build_config({}).extra.weight == 1.0
    cfg = build_config({"extra": {"weight": 2}}, {"train.steps": 3})
    assert cfg.extra.weight == 2.0 and "extra:\n  weight: 2.0" in dump_config(cfg)
    with pytest.raises(UserError, match="extra.weight: Input should be greater than 0"):
        build_config({}, {"extra.weight": -1})
    with pytest.raises(UserError, match="other: unknown key; allowed: model, .*extra"):
        build_config({"other": {}})


def test_without_a_declared_section_the_key_is_unknown():
    with pytest.raises(UserError, match="extra: unknown key; allowed: model, data"):
        build_config({"extra": {"weight": 2}})


def test_bad_plugins_are_one_line_user_errors(tmp_path):
    with pytest.raises(UserError, match="cannot import plugin 'no_such_plugin_mod'"):
        _import_plugin("no_such_plugin_mod")
    with pytest.raises(UserError, match="no such file"):
        _import_plugin(str(tmp_path / "missing.py"))
    empty = tmp_path / "empty_plugin.py"
    empty.write_text("X = 1\n")
    with pytest.raises(UserError, match="must define KIND = Kind"):
        _kinds_of(_import_plugin(str(empty)), str(empty))
    assert _kinds_of(Kind(name="k"), "ep") == [Kind(name="k")]
