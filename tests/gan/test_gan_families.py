"""Every registered GAN architecture, conditional and not, trains two steps through the trainer,
saves, loads, and gives identical samples for a seed."""

from __future__ import annotations

import pytest
import torch

import pixelforge
from pixelforge.config import build_config
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.training import train

TINY = {"seed-dcgan": {}, "dcgan": {"width": 8}, "resnet-gan": {"width": 16},
        "stylegan-lite": {"width": 16}}
GAN_FAMILIES = sorted(n for n in MODELS.names() if MODELS.get(n).kind == "gan")
CONDITIONAL = [n for n in GAN_FAMILIES if "num_classes" in MODELS.get(n).options("generator")]
AC = [n for n in CONDITIONAL if "aux_classifier" in MODELS.get(n).options("discriminator")]


def test_every_gan_family_has_a_tiny_setting():
    assert set(GAN_FAMILIES) <= set(TINY), "add the new family to TINY"
    assert {"dcgan", "resnet-gan", "stylegan-lite"} <= set(CONDITIONAL)


CASES = ([(n, "plain") for n in GAN_FAMILIES] + [(n, "conditional") for n in CONDITIONAL]
         + [(n, "ac-gan") for n in AC])


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_family_trains_saves_loads_and_reproduces(tmp_path, tiny_npz, tiny_overrides, name, variant):
    params = dict(TINY[name])
    ov = {"model.name": name, "train.steps": 2, "train.checkpoint_every": 2, "train.sample_every": 2,
          "train.loss": "hinge" if variant != "plain" else "non-saturating"}
    if variant != "plain":
        ov["model.conditional"] = True
    if variant == "ac-gan":
        params["aux_classifier"] = True
    run = tmp_path / "run"
    res = train(build_config({}, tiny_overrides(tiny_npz, **ov, **{"model.params": params})), run,
                progress=False)
    assert res.step == 2 and all(map(torch.isfinite, map(torch.tensor, res.last_logs.values())))
    g = pixelforge.load(run)
    assert g.family == name and g.num_classes == (10 if variant != "plain" else 0)
    a, b = g.generate(6, seed=11), g.generate(6, seed=11)
    assert a.shape == (6, 1, 16, 16) and torch.equal(a, b)
    assert not torch.equal(a, g.generate(6, seed=12))
    if variant == "plain":
        with pytest.raises(UserError, match="not class-conditional"):
            g.generate(2, labels=3)
    else:
        sevens = g.generate(4, seed=11, labels=7)
        assert sevens.shape == (4, 1, 16, 16)
        with pytest.raises(UserError, match="out of range"):
            g.generate(2, labels=10)


def test_conditional_needs_labels_and_a_conditional_family(tmp_path, tiny_npz, tiny_overrides):
    import numpy as np

    unlabelled = tmp_path / "x.npz"
    np.savez(unlabelled, x_train=np.load(tiny_npz)["x_train"])
    with pytest.raises(UserError, match="model.conditional.*no class labels"):
        train(build_config({}, tiny_overrides(unlabelled, **{"model.conditional": True,
                                                             "model.name": "dcgan"})),
              tmp_path / "a", progress=False)
    with pytest.raises(UserError, match="seed-dcgan.*no class-conditional variant"):
        train(build_config({}, tiny_overrides(tiny_npz, **{"model.conditional": True})),
              tmp_path / "b", progress=False)
