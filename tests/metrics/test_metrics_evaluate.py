"""evaluate_generator end to end on tiny data: scores, baselines, registry, protocol."""

import json

import numpy as np
import pytest
import torch

from pixelforge.config import EvalConfig
from pixelforge.data import load_images
from pixelforge.errors import UserError
from pixelforge.metrics import METRICS, Score, evaluate_generator, register_metric
from pixelforge.metrics import inception as inception_mod
from pixelforge.metrics.registry import MetricSpec
from pixelforge.metrics.report import PROTOCOL_FIELDS, read_metrics

CFG = EvalConfig(n_generated=64, extractor_epochs=1, batch_size=64, seed=3)


pytestmark = pytest.mark.usefixtures("module_cache")  # extractors train once per module


@pytest.fixture
def tiny(tiny_npz):
    """The test split of the 512 + 128 digit .npz, through the real data layer."""
    return load_images(str(tiny_npz), image_size=28, channels=1, split="test")


@pytest.fixture
def memorising(tiny_npz, bank_generator):
    train = load_images(str(tiny_npz), image_size=28, channels=1, split="train")
    return bank_generator(torch.stack([train[i][0] for i in range(64)]))


def test_scores_baselines_and_protocol(tmp_path, tiny, tiny_npz, memorising):
    run = tmp_path / "run"
    scores = evaluate_generator(memorising, tiny, CFG, run_dir=run, step=5,
                                data_spec=str(tiny_npz))
    for key in ("fd", "kid", "kid_std", "precision", "recall", "fd_untrained",
                "fd_real_vs_real", "extractor_accuracy"):
        assert isinstance(scores[key], float) and np.isfinite(scores[key]), key
    # a generator replaying real digits sits near the real-vs-real floor, far below untrained
    assert scores["fd"] < 0.5 * scores["fd_untrained"]
    assert scores["fd_real_vs_real"] < 0.5 * scores["fd_untrained"]
    # replayed real digits lie on the real manifold: precision and recall near a real set's
    # (0.98 / 0.78 here; an untrained generator scores ~0 on both)
    assert scores["precision"] > 0.8 and scores["recall"] > 0.5
    assert scores["extractor_accuracy"] > 0.5  # 115 digits, >= 100 steps
    protocol = scores["protocol"]
    assert protocol["split"] == "test"  # found by fingerprint
    assert protocol["resize_filter"] == "bicubic" and protocol["n_real"] == 128
    assert scores["extractor"] == protocol["extractor"].split()[0]

    records = read_metrics(run)
    names = [r["metric"] for r in records]
    assert names == ["fd_cnn", "kid_cnn", "precision_cnn", "recall_cnn",
                     "fd_cnn/untrained_generator", "fd_cnn/real_vs_real", "extractor_accuracy"]
    for r in records:
        missing = [f for f in PROTOCOL_FIELDS if f not in r]
        assert not missing, (r["metric"], missing)
        assert r["step"] == 5 and r["seed"] == 3 and r["data_fingerprint"] == tiny.fingerprint
        assert r["extractor_hash"] == protocol["extractor_hash"] and len(r["extractor_hash"]) == 12
        assert r["data_spec"] == str(tiny_npz) and r["image_size"] == 28 and r["channels"] == 1
    by_name = {r["metric"]: r for r in records}
    assert by_name["kid_cnn"]["std"] == scores["kid_std"]
    assert by_name["fd_cnn/real_vs_real"]["n_generated"] == 64  # 64 train digits vs test stats
    assert "train split vs real test split" in by_name["fd_cnn/real_vs_real"]["baseline"]
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in lines) and len(lines) == len(records)


def test_second_evaluation_reuses_the_caches(tiny, tiny_npz, memorising, monkeypatch):
    from pixelforge.metrics import cache, extractor_training

    first = evaluate_generator(memorising, tiny, CFG, data_spec=str(tiny_npz), baselines=False)
    monkeypatch.setattr(extractor_training, "train_extractor", _forbidden)
    monkeypatch.setattr(cache, "extract_features", _forbidden)
    second = evaluate_generator(memorising, tiny, CFG, data_spec=str(tiny_npz), baselines=False)
    assert second["fd"] == first["fd"] and second["kid"] == first["kid"]
    assert "fd_untrained" not in second


def _forbidden(*args, **kwargs):
    raise AssertionError("should have been a cache hit")


def test_without_a_data_spec_there_is_no_floor_but_a_holdout(tiny, memorising):
    scores = evaluate_generator(memorising, tiny, CFG)
    assert "fd_real_vs_real" not in scores and "fd_untrained" in scores
    assert scores["protocol"]["split"] is None


def test_n_real_and_explicit_split(tiny, tiny_npz, memorising):
    cfg = CFG.model_copy(update={"n_real": 100})
    scores = evaluate_generator(memorising, tiny, cfg, data_spec=str(tiny_npz), split="test",
                                resize_filter="bicubic", baselines=False)
    assert scores["n_real"] == 100 and scores["protocol"]["n_real_requested"] == 100


def test_shape_mismatch_is_a_user_error(tiny, bank_generator):
    with pytest.raises(UserError, match="16px"):
        evaluate_generator(bank_generator(image_size=16), tiny, CFG)


def test_registry_names_and_one_file_one_registration(tiny, memorising, monkeypatch):
    assert {"fd_cnn", "kid_cnn", "pr_cnn", "fid_inception", "kid_inception",
            "is_inception"} <= set(METRICS.names())
    assert METRICS.get("fd_cnn").group == "cnn"
    assert METRICS.get("fid_inception").group == "inception"
    monkeypatch.setattr(METRICS, "_items", dict(METRICS._items))  # undo the registration below

    @register_metric("mean_feature_norm_cnn", summary="a made-up metric")
    def mean_norm(inputs):
        value = float(np.linalg.norm(inputs.fake_features, axis=1).mean())
        return [Score("mean_feature_norm_cnn", "feature_norm", value)]

    assert isinstance(METRICS.get("mean_feature_norm_cnn"), MetricSpec)
    scores = evaluate_generator(memorising, tiny, CFG, baselines=False)
    assert scores["feature_norm"] > 0
    with pytest.raises(ValueError):
        register_metric("fd_cnn")(mean_norm)


class _FakeInception(torch.nn.Module):
    """Stands in for torch-fidelity's InceptionV3: uint8 RGB in, (pool, logits) out; 64 and 10
    features instead of 2048 and 1008 keep the 2048-d FID eigenproblem out of the test."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.pool = torch.randn(3 * 8 * 8, 64, generator=g) / 4
        self.head = torch.randn(64, 10, generator=g)

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        small = torch.nn.functional.adaptive_avg_pool2d(x.float() / 255, 8).flatten(1)
        pool = torch.relu(small @ self.pool)
        return pool, pool @ self.head


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_inception_metrics_plumbing(tmp_path, tiny, memorising, bank_generator, monkeypatch):
    monkeypatch.setattr(inception_mod, "load_inception", lambda timeout=None: _FakeInception())
    monkeypatch.setattr(inception_mod, "POOL_DIM", 64)
    monkeypatch.setattr(inception_mod, "LOGITS_DIM", 10)
    scores = evaluate_generator(memorising, tiny, CFG, run_dir=tmp_path, inception=True,
                                baselines=False)
    # against a baseline through the same plumbing: one digit repeated scores IS exactly 1
    # (every prediction equal, KL 0) and a worse FID than 64 different real digits
    one = bank_generator(torch.stack([tiny[0][0]] * 64))
    same = evaluate_generator(one, tiny, CFG, inception=True, baselines=False)
    assert same["is_inception"] == pytest.approx(1.0, abs=1e-4)
    assert scores["is_inception"] > same["is_inception"] + 0.01
    assert scores["fid_inception"] < same["fid_inception"]
    inc = [r for r in read_metrics(tmp_path) if r["metric"].endswith("_inception")]
    assert len(inc) == 3
    recorded = {r["metric"]: r["value"] for r in inc}  # what is logged is what is returned
    assert recorded["kid_inception"] == pytest.approx(scores["kid_inception"])
    assert recorded["fid_inception"] == pytest.approx(scores["fid_inception"])
    assert all(r["extractor_name"] == "inception-v3-compat" for r in inc)
