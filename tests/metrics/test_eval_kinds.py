"""Evaluation dispatches on the checkpoint's model kind through metrics.kinds.EVALUATORS."""

from __future__ import annotations

import pytest
import torch

from pixelforge.checkpoint import write_components
from pixelforge.cli.main import main
from pixelforge.errors import UserError
from pixelforge.metrics.kinds import (
    EVALUATORS,
    EvalRequest,
    evaluate,
    generative_scores,
    vae_scores,
)
from pixelforge.models import MODELS
from pixelforge.pipelines import GeneratePipeline


def _ckpt(path, kind: str):
    torch.manual_seed(0)
    g = MODELS.get("dcgan").build("generator", image_size=16, channels=1, latent_dim=8, width=8)
    write_components(path, {"generator": g}, model="dcgan", kind=kind, pipeline="generate")
    return path


def test_builtin_kinds_are_registered():
    assert EVALUATORS.get("gan") is generative_scores
    assert EVALUATORS.get("vae") is vae_scores and EVALUATORS.get("vae-gan") is vae_scores


def test_cli_eval_calls_the_evaluator_of_the_checkpoint_kind(tmp_path, monkeypatch, capsys):
    ck = _ckpt(tmp_path / "ck", "gan")
    calls: list[EvalRequest] = []

    def fake(request: EvalRequest) -> dict:
        calls.append(request)
        return {"fd": 1.5, "real_data": "fake data"}

    monkeypatch.setitem(EVALUATORS._items, "gan", fake)
    capsys.readouterr()
    assert main(["eval", str(ck), "--data", "somewhere.npz", "--n", "10",
                 "--vae-n", "7"]) == 0
    (req,) = calls
    assert isinstance(req.pipeline, GeneratePipeline) and req.checkpoint == ck
    assert req.data == "somewhere.npz" and req.cfg.n_generated == 10
    assert req.options["vae_n"] == 7
    out = capsys.readouterr().out
    assert "against fake data" in out and "1.5" in out


def test_unknown_kind_is_a_user_error(tmp_path, capsys):
    ck = _ckpt(tmp_path / "ck", "mystery")
    capsys.readouterr()
    assert main(["eval", str(ck), "--data", "x.npz"]) == 2
    err = capsys.readouterr().err.strip()
    assert "'mystery'" in err and "gan" in err and len(err.splitlines()) == 1
    with pytest.raises(UserError, match="no evaluation for models of kind 'mystery'"):
        evaluate("mystery", EvalRequest(pipeline=None, checkpoint=ck, data="", split="train",
                                        cfg=None, run_dir=tmp_path))
