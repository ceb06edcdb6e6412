"""MERF / DP-MERF (kind merf): the features, the release's sensitivity and noise, its accounting
against Opacus, a generator that learns the classes, exact resume without a second release, and
the run from the CLI through info, synthesize and audit."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch

from pixelforge.checkpoint import latest_checkpoint, load_state, privacy_record
from pixelforge.config import build_config
from pixelforge.errors import UserError
from pixelforge.training import train
from pixelforge.training.merf import (
    COUNT_SHARE,
    MERFTask,
    RandomFourierFeatures,
    release_plan,
)


def _merf(tiny_overrides, data, **extra):
    return tiny_overrides(data, **{"model.name": "merf", "model.conditional": True,
                                   "model.params": {"width": 8}, "merf.features": 256,
                                   "train.lr_g": 1e-3, **extra})


def test_features_have_unit_norm_and_approximate_the_gaussian_kernel():
    """||φ(x)|| = 1 exactly (the release's sensitivity rests on it), and φ(x)·φ(y) estimates
    exp(-||x - y||² / 2ℓ²) with the Monte-Carlo error of 20,000 features."""
    torch.manual_seed(0)
    phi = RandomFourierFeatures(dim=64, features=20000, lengthscale=4.0, seed=1)
    x, y = torch.randn(16, 64), torch.randn(16, 64) * 0.5
    fx, fy = phi(x), phi(y)
    assert torch.allclose(fx.norm(dim=1), torch.ones(16), atol=1e-5)
    want = torch.exp(-((x - y) ** 2).sum(1) / (2 * 4.0 ** 2))
    assert torch.allclose((fx * fy).sum(1), want, atol=0.03)
    assert not torch.allclose(want, torch.full_like(want, want.mean()), atol=0.03)  # not flat


def test_release_noise_is_calibrated_by_opacus_and_tight():
    """One Gaussian release at the σ Opacus derives spends at most the target, and 5% less
    noise would spend more: the accountant is the library's, not a hand formula."""
    from opacus.accountants.utils import get_noise_multiplier

    cfg = build_config({}, {"privacy.target_epsilon": 1.0})
    plan = release_plan(cfg, 60000)
    assert plan.noise_multiplier == get_noise_multiplier(
        target_epsilon=1.0, target_delta=1e-5, sample_rate=1.0, steps=1, accountant="rdp")
    assert plan.epsilon() <= 1.0
    weaker = release_plan(build_config({}, {"privacy.target_epsilon": 5.0,
                                            "privacy.noise_multiplier":
                                            plan.noise_multiplier * 0.95}), 60000)
    assert weaker.epsilon() > 1.0
    # many generator steps spend nothing more
    assert plan.record(10**6)["epsilon"] == plan.record(1)["epsilon"] == round(plan.epsilon(), 6)
    from pixelforge.checkpoint import describe_privacy

    assert describe_privacy(plan.record(500)) == \
        f"ε = {plan.epsilon():.3g} (δ = 1e-05, rdp, 1 release)"


def test_a_given_noise_too_small_for_the_target_is_refused():
    cfg = build_config({}, {"privacy.target_epsilon": 1.0, "privacy.noise_multiplier": 0.5})
    with pytest.raises(UserError, match="privacy.noise_multiplier=0.5"):
        release_plan(cfg, 60000)


def _task(cfg, n, classes):
    from pixelforge.core.precision import Precision
    from pixelforge.models import MODELS

    return MERFTask(cfg, MODELS.get("merf"), num_classes=classes, device=torch.device("cpu"),
                    precision=Precision.resolve("fp32", False, torch.device("cpu")),
                    num_images=n)


class _Set:
    """A preloaded dataset of uint8 images and labels (what `begin` reads)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def tensors(self):
        return self.x, self.y

    def __len__(self):
        return len(self.y)


def _two_class_set(n=200, size=16, seed=0):
    """Class 0 dark, class 1 bright, with pixel noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    base = torch.where(y == 0, 40.0, 215.0)[:, None, None, None]
    x = (base + 20 * torch.randn(n, 1, size, size, generator=g)).clamp(0, 255).to(torch.uint8)
    return x, y


def test_one_image_moves_the_released_sums_by_exactly_one(tiny_npz, tiny_overrides):
    """Add/remove-one sensitivity 1: the un-noised release of N + 1 images minus that of N has
    L2 norm 1, whatever the image, so σ is the noise per unit of sensitivity."""
    cfg = build_config({}, _merf(tiny_overrides, tiny_npz))
    x, y = _two_class_set(41)
    a = math.sqrt(1 - COUNT_SHARE)
    sums = []
    for n in (40, 41):
        task = _task(cfg, n, 2)
        task.begin(_Set(x[:n], y[:n]))
        counts = task.weights * 0 + torch.bincount(y[:n], minlength=2).float()
        sums.append(torch.cat([task.target * a * counts[:, None],
                               math.sqrt(COUNT_SHARE) * counts[:, None]], dim=1))
    assert (sums[1] - sums[0]).norm().item() == pytest.approx(1.0, abs=1e-4)


def test_the_private_release_carries_noise_of_the_planned_size(tiny_npz, tiny_overrides):
    """The private target minus the exact one, scaled back to sums, has standard deviation σ
    (the counts are noisy too, so compare on the large class means' scale)."""
    x, y = _two_class_set(4000)
    exact = _task(build_config({}, _merf(tiny_overrides, tiny_npz, **{"merf.features": 4096})),
                  4000, 2)
    exact.begin(_Set(x, y))
    cfg = build_config({}, _merf(tiny_overrides, tiny_npz, **{"merf.features": 4096,
                                                              "privacy.target_epsilon": 1.0}))
    private = _task(cfg, 4000, 2)
    private.begin(_Set(x, y))
    sigma = private.plan.noise_multiplier
    n_c = 2000 * math.sqrt(1 - COUNT_SHARE)
    spread = ((private.target - exact.target) * n_c).std().item()
    assert spread == pytest.approx(sigma, rel=0.1)
    assert private.weights.sum().item() == pytest.approx(1.0)


def test_the_generator_learns_each_class_from_the_release(tmp_path, tiny_npz, tiny_overrides):
    """Dark class 0, bright class 1: after training against the (private, ε = 8) release, G's
    class-0 samples are darker than its class-1 samples by most of the real gap; at step 0 they
    are not."""
    x, y = _two_class_set(512)
    data = tmp_path / "two.npz"
    np.savez_compressed(data, x_train=x[:, 0].numpy(), y_train=y.numpy(), x_test=x[:64, 0].numpy(),
                        y_test=y[:64].numpy())
    ov = _merf(tiny_overrides, data, **{"train.steps": 150, "train.batch_size": 32,
                                        "train.checkpoint_every": 150, "train.log_every": 50,
                                        "merf.lengthscale": 1.0, "privacy.target_epsilon": 8})
    import pixelforge

    res = train(build_config({}, ov), tmp_path / "run", progress=False)
    gen = pixelforge.load(res.checkpoint).generator
    z = torch.randn(64, gen.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        m0 = gen(z, torch.zeros(64, dtype=torch.long)).mean().item()
        m1 = gen(z, torch.ones(64, dtype=torch.long)).mean().item()
    real_gap = (215 - 40) / 127.5  # 1.37 in [-1, 1] units
    assert m1 - m0 > 0.6 * real_gap, (m0, m1)
    rec = privacy_record(res.checkpoint)
    assert rec["releases"] == 1 and rec["generator_steps"] == 150 and rec["epsilon"] <= 8


def test_resume_is_bit_equal_and_never_releases_again(tmp_path, tiny_npz, tiny_overrides,
                                                      monkeypatch):
    full, part = tmp_path / "full", tmp_path / "part"
    ov = _merf(tiny_overrides, tiny_npz, **{"privacy.target_epsilon": 2})
    train(build_config({}, ov), full, progress=False)
    shutil.copytree(full, part)
    ckpts = part / "checkpoints"
    shutil.rmtree(ckpts / "step-0000006")
    latest = ckpts / "latest"
    latest.unlink()
    (latest.symlink_to("step-0000003") if (full / "checkpoints" / "latest").is_symlink()
     else latest.write_text("step-0000003"))
    (part / "train_log.jsonl").write_text("".join(
        line + "\n" for line in (full / "train_log.jsonl").read_text().splitlines()[:3]))

    def no_second_read(self, dataset):
        raise AssertionError("a resume read the private data again")

    monkeypatch.setattr(MERFTask, "begin", no_second_read)
    train(build_config({}, ov), part, resume=True, progress=False)
    a = load_state(latest_checkpoint(full) / "training_state.safetensors")["task"]
    b = load_state(latest_checkpoint(part) / "training_state.safetensors")["task"]
    assert torch.equal(a["target"], b["target"]) and torch.equal(a["weights"], b["weights"])
    for net in ("G", "ema"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    assert privacy_record(latest_checkpoint(part)) == privacy_record(latest_checkpoint(full))


def test_merf_from_the_cli_info_synthesize_and_audit(tmp_path, tiny_npz):
    """`--model merf` with a privacy section trains from the CLI; info shows its ε and the one
    release; synthesize writes labelled images carrying it; the audit runs without a white-box
    attack (no network ever scored the data)."""
    from typer.testing import CliRunner

    from pixelforge.cli.main import app

    out = tmp_path / "run"
    run = CliRunner().invoke
    res = run(app, ["train", "--model", "merf", "--data", str(tiny_npz), "--out", str(out),
                    "--steps", "4", "--model.conditional", "true", "--model.image_size", "16",
                    "--model.params", "{width: 8}", "--merf.features", "128",
                    "--train.batch_size", "20", "--privacy.target_epsilon", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    res = run(app, ["info", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["privacy"]["releases"] == 1 and info["privacy"]["epsilon"] <= 1
    synth = tmp_path / "synth.npz"
    res = run(app, ["synthesize", str(out), "--n", "30", "--out", str(synth)])
    assert res.exit_code == 0, res.output
    with np.load(synth) as z:
        assert z["x"].shape[0] == 30 and sorted(set(z["y"].tolist())) == list(range(10))
    res = run(app, ["audit", str(out), "--data", str(tiny_npz), "--n", "64", "--n-mia", "32"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "audit.json").read_text())
    assert report["membership_white_box"].get("available") is not True
    assert report["privacy"]["releases"] == 1


def test_the_shipped_merf_recipe_is_the_benchmarked_one_and_trains_from_the_cli(
        tmp_path, tiny_npz, privacy_benchmark_row):
    """`--config privacy/mnist_dp_merf` holds the recipe the benchmark's mnist-merf-eps1 row
    recorded, at its ε, and trains privately from the CLI."""

    from typer.testing import CliRunner

    from pixelforge.cli.main import app
    from pixelforge.config import load_config

    cfg = load_config("privacy/mnist_dp_merf")
    row = privacy_benchmark_row("mnist-merf-eps1")
    rec = row["recipe"]
    assert (cfg.model.name, cfg.model.params["width"], cfg.train.batch_size, cfg.train.lr_g,
            cfg.train.steps, cfg.merf.features, cfg.merf.lengthscale) == \
        (rec["model"], rec["width"], rec["batch_size"], rec["lr"], rec["planned_steps"],
         rec["features"], rec["lengthscale"])
    assert cfg.privacy.target_epsilon == row["target_epsilon"] and cfg.model.conditional
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--config", "privacy/mnist_dp_merf", "--data",
                                   str(tiny_npz), "--out", str(out), "--steps", "2",
                                   "--merf.features", "64", "--quiet"])
    assert res.exit_code == 0, res.output
    assert privacy_record(latest_checkpoint(out))["releases"] == 1


def test_resume_with_other_features_is_refused(tmp_path, tiny_npz, tiny_overrides):
    """The release is an embedding in the saved run's features: a resume under another
    merf.lengthscale (or features, or seed) would train against the wrong target."""
    ov = _merf(tiny_overrides, tiny_npz, **{"train.steps": 3})
    train(build_config({}, ov), tmp_path / "run", progress=False)
    ov.update({"train.steps": 6, "merf.lengthscale": 0.25})
    with pytest.raises(UserError, match="merf.lengthscale is 0.5 in the saved run but 0.25"):
        train(build_config({}, ov), tmp_path / "run", resume=True, progress=False)


def test_features_too_large_for_the_image_size_are_refused_before_allocating(tiny_npz,
                                                                              tiny_overrides):
    cfg = build_config({}, _merf(tiny_overrides, tiny_npz, **{
        "model.image_size": 256, "model.channels": 3, "merf.features": 10000}))
    with pytest.raises(UserError, match=r"merf.features=10000: at 256 px x 3 channels .* 3.9 GB"):
        _task(cfg, 100, 10)
