"""The stable-GAN toolbox through the one trainer: losses, penalties, n_critic, clipping, ADA,
exact resume with all of them, time budgets, and the health monitor's warn/stop/rollback."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from pixelforge.checkpoint import latest_checkpoint, load_state
from pixelforge.config import build_config
from pixelforge.core.precision import Precision
from pixelforge.errors import TrainingDiverged
from pixelforge.models import MODELS
from pixelforge.training import train
from pixelforge.training.gan import GANTask
from pixelforge.training.health import HealthMonitor, pairwise_spread


def _logs(run):
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


VARIANTS = {  # name -> overrides; each must train and log what it adds
    "lsgan": ({"train.loss": "lsgan", "gan.label_smoothing": 0.1}, ["d_acc_real", "d_acc_fake"]),
    "hinge": ({"train.loss": "hinge", "gan.grad_clip": 1.0}, ["grad_norm_d", "grad_norm_g"]),
    "wgan-gp": ({"train.loss": "wasserstein", "gan.gp_weight": 10.0, "train.n_critic": 2}, ["gp", "d_real"]),
    "wgan-clip": ({"train.loss": "wasserstein", "gan.clip_weights": 0.01}, ["d_fake"]),
    "r1-lazy": ({"gan.r1_gamma": 1.0, "gan.r1_every": 2}, []),
    "ada": ({"augment.kind": "ada", "augment.p": 0.2}, ["augment_p"]),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_trains_with_finite_logs(tmp_path, tiny_npz, tiny_overrides, name):
    ov, keys = VARIANTS[name]
    run = tmp_path / name
    res = train(build_config({}, tiny_overrides(tiny_npz, **{"train.steps": 4, **ov})), run, progress=False)
    assert res.step == 4
    logs = _logs(run)
    for k in ("loss_d", "loss_g", *keys):
        assert k in logs[-1], f"{name}: {k} not logged"
    assert all(all(v == v and abs(v) != float("inf") for v in r.values()) for r in logs)
    if name == "r1-lazy":
        assert any("r1" in r for r in logs) and not all("r1" in r for r in logs)  # lazy: every 2nd


def _task(tiny_npz, tiny_overrides, **ov):
    cfg = build_config({}, tiny_overrides(tiny_npz, **ov))
    return GANTask(cfg, MODELS.get(cfg.model.name), num_classes=0, device=torch.device("cpu"),
                   precision=Precision.resolve("fp32", "off", torch.device("cpu")), num_images=512)


def test_n_critic_updates_g_once_per_n_d_steps(tiny_npz, tiny_overrides):
    task = _task(tiny_npz, tiny_overrides, **{"train.n_critic": 3})
    real = torch.rand(16, 1, 16, 16) * 2 - 1
    g0 = [p.detach().clone() for p in task.G.parameters()]
    for step in range(2):
        task.train_step({"image": real, "label": torch.zeros(16, dtype=torch.long)}, step)
    assert all(torch.equal(a, b) for a, b in zip(g0, task.G.parameters(), strict=True))
    task.train_step({"image": real, "label": torch.zeros(16, dtype=torch.long)}, 2)
    assert not all(torch.equal(a, b) for a, b in zip(g0, task.G.parameters(), strict=True))
    steps_d = {int(s["step"]) for s in task.adversary.opt.state.values()}
    steps_g = {int(s["step"]) for s in task.opt_g.state.values()}
    assert steps_d == {3} and steps_g == {1}


def test_weight_clipping_is_applied_after_each_d_step(tiny_npz, tiny_overrides):
    task = _task(tiny_npz, tiny_overrides, **{"train.loss": "wasserstein", "gan.clip_weights": 0.005})
    task.train_step({"image": torch.rand(16, 1, 16, 16) * 2 - 1,
                     "label": torch.zeros(16, dtype=torch.long)}, 0)
    assert max(p.abs().max().item() for p in task.adversary.D.parameters()) <= 0.005


def test_exact_resume_with_ada_gp_and_n_critic(tmp_path, tiny_npz, tiny_overrides):
    ov = tiny_overrides(tiny_npz, **{"train.loss": "wasserstein", "gan.gp_weight": 10.0,
                                     "train.n_critic": 2, "augment.kind": "ada", "augment.p": 0.3,
                                     "augment.ada_interval": 1, "augment.ada_speed": 100,
                                     "train.checkpoint_every": 3})
    full, part = tmp_path / "full", tmp_path / "part"
    train(build_config({}, ov), full, progress=False)
    train(build_config({}, {**ov, "train.steps": 3}), part, progress=False)
    train(build_config({}, ov), part, resume=True, progress=False)
    a = load_state(latest_checkpoint(full) / "training_state.safetensors")["task"]
    b = load_state(latest_checkpoint(part) / "training_state.safetensors")["task"]
    for net in ("G", "D", "ema"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    assert a["ada"] == b["ada"] and a["ada"]["p"] != 0.3  # p moved, and resumed exactly
    assert [r["loss_d"] for r in _logs(full)] == [r["loss_d"] for r in _logs(part)]


def test_time_budget_stops_early_with_a_checkpoint(tmp_path, tiny_npz, tiny_overrides, caplog):
    run = tmp_path / "run"
    ov = tiny_overrides(tiny_npz, **{"train.steps": 100_000, "train.time_budget": 0.02,
                                     "train.budget_clock": "cpu", "train.checkpoint_every": 100_000})
    with caplog.at_level(logging.INFO, logger="pixelforge.train"):
        res = train(build_config({}, ov), run, progress=False)
    assert 0 < res.step < 100_000
    assert latest_checkpoint(run).name == f"step-{res.step:07d}"
    assert "time budget" in caplog.text


def test_health_monitor_flags_collapse_and_explosion():
    real = torch.rand(32, 1, 8, 8) * 2 - 1
    mon = HealthMonitor(build_config({}, {"health.warmup": 10}).health, real)
    assert mon.check_samples(torch.rand(32, 1, 8, 8) * 2 - 1, step=50) is None
    assert mon.last_diversity == pytest.approx(1.0, abs=0.15)
    collapsed = torch.full((32, 1, 8, 8), 0.3)  # a generator with constant output
    p = mon.check_samples(collapsed, step=50)
    assert p is not None and p.kind == "collapse" and "mode collapse at step 50" in p.message
    assert mon.check_samples(collapsed, step=5) is None  # still warming up
    for s in range(1, 30):
        assert mon.check_losses({"loss_d": 1.0 + 0.01 * (s % 3)}, s) is None
    p = mon.check_losses({"loss_d": 500.0}, 30)
    assert p is not None and p.kind == "explosion" and not p.fatal
    p = mon.check_losses({"loss_d": float("nan"), "loss_g": 1.0}, 31)
    assert p.kind == "nan" and p.fatal and "loss_d=nan" in p.message


def _collapse(monkeypatch, times: int):
    """Make the first `times` health checks see a constant (collapsed) generator."""
    calls = {"n": 0}

    def sample(self, n, seed):
        calls["n"] += 1
        return torch.zeros(n, 1, 16, 16) if calls["n"] <= times else torch.rand(n, 1, 16, 16) * 2 - 1

    monkeypatch.setattr(GANTask, "health_images", sample)


def _health(tiny_npz, tiny_overrides, action, **extra):
    return build_config({}, tiny_overrides(tiny_npz, **{
        "train.steps": 8, "train.checkpoint_every": 2, "train.sample_every": 100, "health.every": 4,
        "health.warmup": 0, "health.action": action, **extra}))


def test_collapse_warns_by_default_and_stops_when_asked(tmp_path, tiny_npz, tiny_overrides, monkeypatch, caplog):
    _collapse(monkeypatch, times=100)
    with caplog.at_level(logging.WARNING, logger="pixelforge.train"):
        assert train(_health(tiny_npz, tiny_overrides, "warn"), tmp_path / "a", progress=False).step == 8
    assert "health: mode collapse at step 4" in caplog.text
    with pytest.raises(TrainingDiverged, match="mode collapse at step 4"):
        train(_health(tiny_npz, tiny_overrides, "stop"), tmp_path / "b", progress=False)
    assert latest_checkpoint(tmp_path / "b").name == "step-0000002"  # the last good one is kept


def test_collapse_rolls_back_with_lower_learning_rate(tmp_path, tiny_npz, tiny_overrides, monkeypatch, caplog):
    _collapse(monkeypatch, times=1)
    run = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="pixelforge.train"):
        res = train(_health(tiny_npz, tiny_overrides, "rollback"), run, progress=False)
    assert res.step == 8
    assert "rolled back to step-0000002" in caplog.text and "x0.5" in caplog.text
    state = load_state(latest_checkpoint(run) / "training_state.safetensors")
    assert state["lr_scale"] == 0.5
    for opt in ("opt_g", "opt_d"):
        assert state["task"][opt]["param_groups"][0]["lr"] == pytest.approx(1e-4)


def test_rollback_gives_up_after_max_rollbacks(tmp_path, tiny_npz, tiny_overrides, monkeypatch):
    _collapse(monkeypatch, times=100)
    cfg = _health(tiny_npz, tiny_overrides, "rollback", **{"health.max_rollbacks": 2})
    with pytest.raises(TrainingDiverged, match="gave up after 2 rollbacks"):
        train(cfg, tmp_path / "run", progress=False)


def test_nan_rolls_back_when_configured(tmp_path, tiny_npz, tiny_overrides, monkeypatch, caplog):
    real_step = GANTask.train_step
    hit = {"done": False}

    def poisoned(self, batch, step):
        out = real_step(self, batch, step)
        if step == 4 and not hit["done"]:
            hit["done"] = True
            out["loss_d"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(GANTask, "train_step", poisoned)
    with caplog.at_level(logging.WARNING, logger="pixelforge.train"):
        res = train(_health(tiny_npz, tiny_overrides, "rollback", **{"health.every": 1000}),
                    tmp_path / "run", progress=False)
    assert res.step == 8 and "training diverged at step 5" in caplog.text and "rolled back" in caplog.text


def test_mode_seeking_gives_the_pair_one_class_and_adds_to_g_loss(tiny_npz, tiny_overrides):
    """gan.mode_seeking: the fakes' second half repeats the first half's classes, and G's loss
    carries the weighted MSGAN term (at init G's outputs barely vary: the term dominates)."""
    cfg = build_config({}, tiny_overrides(tiny_npz, **{
        "model.name": "dcgan", "model.params": {"width": 8}, "model.conditional": True,
        "gan.mode_seeking": 2.0}))
    task = GANTask(cfg, MODELS.get(cfg.model.name), num_classes=10, device=torch.device("cpu"),
                   precision=Precision.resolve("fp32", "off", torch.device("cpu")), num_images=512)
    seen, d_seen = [], []
    forward, d_forward = task.G.forward, task.adversary.D.forward
    task.g_step = lambda z, y: (seen.append(y.clone()), forward(z, y))[1]
    task.adversary.d_ddp = lambda x, y: (d_seen.append(y.clone()), d_forward(x, y))[1]
    labels = torch.arange(16) % 10
    logs = task.train_step({"image": torch.rand(16, 1, 16, 16) * 2 - 1, "label": labels}, 0)
    assert seen[0].tolist() == labels[:8].tolist() * 2
    # D sees the real images with their own classes, the fakes with the paired ones
    assert [d.tolist() for d in d_seen] == [labels.tolist(), labels[:8].tolist() * 2]
    assert float(logs["loss_g"]) > 2.0  # hinge/ns G losses of ~1 alone, plus 2 x (> 1)


def test_a_conditional_generator_that_ignores_its_noise_is_flagged(tiny_npz, tiny_overrides):
    """One image per class looks varied across classes; the check samples one class, so such a
    G is a collapse, while a G whose images follow z is not."""
    cfg = build_config({}, tiny_overrides(tiny_npz, **{
        "model.name": "dcgan", "model.params": {"width": 8}, "model.conditional": True,
        "health.warmup": 10}))
    task = GANTask(cfg, MODELS.get(cfg.model.name), num_classes=10, device=torch.device("cpu"),
                   precision=Precision.resolve("fp32", "off", torch.device("cpu")), num_images=512)
    real = torch.rand(64, 1, 16, 16) * 2 - 1
    mon = HealthMonitor(cfg.health, real)
    per_class = torch.rand(10, 1, 16, 16) * 2 - 1
    task.G.forward = lambda z, y: per_class[y]  # ignores z
    assert pairwise_spread(per_class[torch.arange(32) % 10]) > 0.8 * pairwise_spread(real)
    p = mon.check_samples(task.health_images(32, seed=0), step=50)
    assert p is not None and p.kind == "collapse"
    proj = torch.randn(task.G.latent_dim, 256)
    task.G.forward = lambda z, y: torch.tanh(z @ proj).view(-1, 1, 16, 16) + per_class[y]
    assert mon.check_samples(task.health_images(32, seed=0), step=50) is None
