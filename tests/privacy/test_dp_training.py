"""Differentially private training: the accountant against Opacus's own, the refusals, exact
resume, the budget stop, and the fake-sample gradient that carries no noise."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from pixelforge.checkpoint import latest_checkpoint, load_state, privacy_record
from pixelforge.config import build_config
from pixelforge.errors import UserError
from pixelforge.training import train
from pixelforge.training.privacy import default_delta, epsilon_spent, make_plan


def _dp(tiny_overrides, data, **extra):
    return tiny_overrides(data, **{"privacy.target_epsilon": 5, **extra})


# -- accounting --------------------------------------------------------------------------------
@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_epsilon_matches_opacus_accountant_stepped(accountant):
    """ε from (σ, q, steps) equals Opacus's accountant stepped once per optimiser step."""
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    for _ in range(200):
        acc.step(noise_multiplier=1.1, sample_rate=256 / 60000)
    assert epsilon_spent(1.1, 256 / 60000, 200, 1e-5, accountant) == pytest.approx(
        acc.get_epsilon(delta=1e-5), rel=1e-9)


def test_plan_noise_from_opacus_and_budget_never_exceeded():
    from opacus.accountants.utils import get_noise_multiplier

    cfg = build_config({}, {"privacy.target_epsilon": 3, "train.steps": 500,
                            "train.batch_size": 64})
    plan = make_plan(cfg, 6000)
    assert plan.delta == 1e-4 == default_delta(6000)
    assert plan.noise_multiplier == get_noise_multiplier(
        target_epsilon=3, target_delta=1e-4, sample_rate=64 / 6000, steps=500, accountant="rdp")
    assert plan.max_steps == 500 and plan.epsilon(500) <= 3


def test_given_noise_caps_the_steps_at_the_budget():
    cfg = build_config({}, {"privacy.target_epsilon": 2, "privacy.noise_multiplier": 0.8,
                            "train.steps": 5000, "train.batch_size": 64})
    plan = make_plan(cfg, 6000)
    assert plan.max_steps < 5000
    assert plan.epsilon(plan.max_steps) <= 2 < plan.epsilon(plan.max_steps + 1)


def test_default_delta_is_below_one_over_n():
    for n, want in ((60000, 1e-5), (64, 1e-2), (100, 1e-3), (512, 1e-3)):
        assert default_delta(n) == pytest.approx(want) and default_delta(n) < 1 / n


# -- refusals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("extra, field", [
    ({"privacy.target_epsilon": 0}, "privacy.target_epsilon"),
    ({"privacy.target_epsilon": -1}, "privacy.target_epsilon"),
    ({"privacy.delta": 0.01}, "privacy.delta"),  # 512 images: 1/N = 0.00195
    ({"gan.gp_weight": 10.0}, "gan.gp_weight"),
    ({"gan.r1_gamma": 1.0}, "gan.r1_gamma"),
    ({"augment.kind": "ada"}, "augment.kind=ada"),
    ({"health.action": "rollback"}, "health.action=rollback"),
    ({"model.name": "resnet-gan", "model.image_size": 32}, "spectral norm"),
    ({"model.name": "vae-gan"}, "vae-gan"),
])
def test_refusals_name_the_field(tmp_path, tiny_npz, tiny_overrides, extra, field):
    ov = _dp(tiny_overrides, tiny_npz, **extra)
    with pytest.raises(UserError) as err:
        train(build_config({}, ov), tmp_path / "run", progress=False)
    assert field in str(err.value) and "\n" not in str(err.value)
    assert latest_checkpoint(tmp_path / "run") is None


def test_resume_with_a_changed_privacy_section_is_refused(tmp_path, tiny_npz, tiny_overrides):
    run = tmp_path / "run"
    ov = _dp(tiny_overrides, tiny_npz, **{"train.steps": 3})
    train(build_config({}, ov), run, progress=False)
    changed = {**ov, "train.steps": 6, "privacy.max_grad_norm": 0.5}
    with pytest.raises(UserError, match="privacy.max_grad_norm is 1.0 in the saved run"):
        train(build_config({}, changed), run, resume=True, progress=False)
    plain = {k: v for k, v in ov.items() if not k.startswith("privacy.")}
    with pytest.raises(UserError, match="drops it"):
        train(build_config({}, {**plain, "train.steps": 6}), run, resume=True, progress=False)


# -- training ----------------------------------------------------------------------------------
def test_resume_with_more_steps_keeps_the_runs_noise(tmp_path, tiny_npz, tiny_overrides):
    """σ derived for 3 steps stays σ when a resume asks for 6: the accounting is one history,
    and training stops where that σ's budget ends."""
    run = tmp_path / "run"
    ov = _dp(tiny_overrides, tiny_npz, **{"privacy.target_epsilon": 2})
    train(build_config({}, {**ov, "train.steps": 3}), run, progress=False)
    first = privacy_record(latest_checkpoint(run))
    res = train(build_config({}, ov), run, resume=True, progress=False)
    rec = privacy_record(res.checkpoint)
    assert rec["noise_multiplier"] == first["noise_multiplier"]
    assert rec["epsilon"] <= 2 and 3 <= res.step <= 6
    assert rec["epsilon"] == pytest.approx(epsilon_spent(
        first["noise_multiplier"], first["sample_rate"], res.step, first["delta"], "rdp"), abs=1e-5)


@pytest.mark.parametrize("model", ["seed-dcgan", "vae"])
def test_dp_resume_from_a_checkpoint_is_bit_equal(tmp_path, tiny_npz, tiny_overrides, model):
    """Kill after the step-3 checkpoint (simulated by deleting the later one) and resume."""
    import shutil

    full, part = tmp_path / "full", tmp_path / "part"
    ov = _dp(tiny_overrides, tiny_npz, **{"model.name": model})
    train(build_config({}, ov), full, progress=False)
    shutil.copytree(full, part)
    ckpts = part / "checkpoints"
    shutil.rmtree(ckpts / "step-0000006")
    latest = ckpts / "latest"
    if latest.is_symlink() or latest.is_file():
        latest.unlink()
        (latest.symlink_to("step-0000003") if (full / "checkpoints" / "latest").is_symlink()
         else latest.write_text("step-0000003"))
    (part / "train_log.jsonl").write_text("".join(
        line + "\n" for line in (full / "train_log.jsonl").read_text().splitlines()[:3]))
    train(build_config({}, ov), part, resume=True, progress=False)
    a = load_state(latest_checkpoint(full) / "training_state.safetensors")
    b = load_state(latest_checkpoint(part) / "training_state.safetensors")
    assert a["step"] == b["step"] == 6
    nets = ("G", "D", "ema") if model != "vae" else ("model",)
    for net in nets:
        for k, v in a["task"][net].items():
            assert torch.equal(v, b["task"][net][k]), f"{net}.{k} differs after resume"
    assert (full / "train_log.jsonl").read_text() != ""
    la = [json.loads(x) for x in (full / "train_log.jsonl").read_text().splitlines()]
    lb = [json.loads(x) for x in (part / "train_log.jsonl").read_text().splitlines()]
    drop = {"images_per_s"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in la] == \
        [{k: v for k, v in r.items() if k not in drop} for r in lb]
    assert privacy_record(latest_checkpoint(part)) == privacy_record(latest_checkpoint(full))


def test_budget_stops_training_and_is_recorded_everywhere(tmp_path, tiny_npz, tiny_overrides):
    run = tmp_path / "run"
    ov = _dp(tiny_overrides, tiny_npz, **{"privacy.target_epsilon": 1.0,
                                         "privacy.noise_multiplier": 0.9, "train.steps": 50,
                                         "train.checkpoint_every": 1000})
    res = train(build_config({}, ov), run, progress=False)
    rec = privacy_record(res.checkpoint)
    assert res.step == rec["steps"] == rec["max_steps"] < 50
    assert rec["epsilon"] <= 1.0
    assert epsilon_spent(0.9, 16 / 512, res.step + 1, rec["delta"], "rdp") > 1.0
    meta = json.loads((res.checkpoint / "meta.json").read_text())
    assert meta["privacy"] == rec
    for key in ("epsilon", "delta", "accountant", "sample_rate", "steps", "max_grad_norm"):
        assert key in rec
    logged = [json.loads(x) for x in (run / "train_log.jsonl").read_text().splitlines()]
    assert logged[-1]["epsilon"] == pytest.approx(rec["epsilon"], abs=1e-5)


def test_fake_gradients_are_clipped_per_sample_and_never_noised(tiny_overrides, tiny_npz):
    """D's fake-part gradient is the mean of per-sample gradients each clipped to the plan's C,
    as the real part is, and gets no noise even when the plan's sigma is large (Opacus issue
    418): computed here one fake at a time and compared with what reaches D's optimizer."""
    from pixelforge.core.precision import Precision
    from pixelforge.models import MODELS
    from pixelforge.training.privacy import PrivacyPlan, dp_ready
    from pixelforge.training.private_tasks import PrivateAdversary

    cfg = build_config({}, _dp(tiny_overrides, tiny_npz))
    torch.manual_seed(0)
    D = dp_ready(MODELS.get("seed-dcgan").build("discriminator", image_size=16, channels=1,
                                                latent_dim=16), "D")
    clip = 1.17  # between the six fakes' gradient norms (1.04 to 1.22 with this seed)
    plan = PrivacyPlan(512, 16, 16 / 512, 1e-3, noise_multiplier=0.0, max_grad_norm=clip,
                       accountant="rdp", target_epsilon=5, max_steps=6)
    adv = PrivateAdversary(D, cfg, plan=plan, device=torch.device("cpu"),
                           precision=Precision.resolve("fp32", "off", torch.device("cpu")),
                           num_images=512)
    fake = torch.rand(6, 1, 16, 16) * 2 - 1
    zero = torch.zeros(1)
    want = [torch.zeros_like(p) for p in D.parameters()]
    norms = []
    for i in range(len(fake)):  # one fake at a time: its own gradient, clipped to C
        D.zero_grad()
        adv.loss.d_loss(zero, D(fake[i:i + 1])).backward()
        g = [p.grad.detach().clone() for p in D.parameters()]
        n = float(torch.linalg.vector_norm(torch.stack([x.norm() for x in g])))
        norms.append(n)
        for w, x in zip(want, g, strict=True):
            w += x * min(1.0, clip / n) / len(fake)
    assert min(norms) < clip < max(norms), "pick C so that some fakes are clipped, some not"
    seen = {}
    adv.opt.step = lambda: seen.update(grads=[p.grad.detach().clone() for p in D.parameters()])
    adv.d_step(fake[:0], fake, step=0)  # an empty private batch, sigma 0: the fake part alone
    for got, w in zip(seen["grads"], want, strict=True):
        torch.testing.assert_close(got, w, rtol=1e-4, atol=1e-7)
    # with noise planned, the fake part still has none: only the real part is noised
    adv.plan = dataclasses.replace(plan, noise_multiplier=5.0)
    adv.dp_opt.noise_multiplier = 5.0
    adv.d_step(fake[:0], fake, step=1)
    noisy = seen["grads"]
    adv.dp_opt.noise_multiplier = 0.0
    adv.d_step(fake[:0], fake, step=1)
    diff = sum(float((a - b).norm() ** 2) for a, b in zip(noisy, seen["grads"], strict=True))
    n_params = sum(p.numel() for p in D.parameters())
    # the noise is N(0, (sigma C / E[batch])^2) per coordinate, on the real part only
    expected = n_params * (5.0 * clip / plan.batch_size) ** 2
    assert 0.8 * expected < diff < 1.2 * expected


def test_poisson_batches_are_seeded_and_have_the_planned_rate(tiny_npz):
    """Each image joins a step's batch with probability q, a pure function of (seed, step);
    lazily loaded data sets give the same batches as in-memory ones."""
    from pixelforge.data import load_images
    from pixelforge.training.privacy import poisson_batches

    ds = load_images(str(tiny_npz), image_size=16, channels=1)
    stream = poisson_batches(ds, 0.05, seed=3, start_step=0)
    sizes = [len(next(stream)["image"]) for _ in range(200)]
    assert abs(np.mean(sizes) - 0.05 * len(ds)) < 3 * np.sqrt(0.05 * 0.95 * len(ds) / 200)
    again = poisson_batches(ds, 0.05, seed=3, start_step=7)  # resumed at step 7
    late = poisson_batches(ds, 0.05, seed=3, start_step=0)
    for _ in range(7):
        next(late)
    a, b = next(again), next(late)
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])

    class Lazy:  # the same images, item by item (a folder's path through the trainer)
        def __len__(self):
            return len(ds)

        def __getitem__(self, i):
            return ds[i]

        def tensors(self):
            return None

    lazy = next(poisson_batches(Lazy(), 0.05, seed=3, start_step=7))
    assert torch.equal(lazy["image"], a["image"]) and torch.equal(lazy["label"], a["label"])
    empty = next(poisson_batches(Lazy(), 0.0, seed=3, start_step=0))
    assert empty["image"].shape == (0, *a["image"].shape[1:])


def test_an_empty_poisson_batch_still_takes_a_noise_step(tiny_overrides, tiny_npz):
    from pixelforge.core.precision import Precision
    from pixelforge.models import MODELS
    from pixelforge.training.privacy import PrivacyPlan, dp_ready
    from pixelforge.training.private_tasks import PrivateAdversary

    cfg = build_config({}, _dp(tiny_overrides, tiny_npz))
    torch.manual_seed(0)
    D = dp_ready(MODELS.get("seed-dcgan").build("discriminator", image_size=16, channels=1,
                                                latent_dim=16), "D")
    plan = PrivacyPlan(512, 16, 16 / 512, 1e-3, noise_multiplier=1.0, max_grad_norm=1.0,
                       accountant="rdp", target_epsilon=5, max_steps=6)
    adv = PrivateAdversary(D, cfg, plan=plan, device=torch.device("cpu"),
                           precision=Precision.resolve("fp32", "off", torch.device("cpu")),
                           num_images=512)
    before = [p.detach().clone() for p in D.parameters()]
    logs = adv.d_step(torch.zeros(0, 1, 16, 16), torch.rand(16, 1, 16, 16) * 2 - 1, step=0)
    assert torch.isfinite(logs["loss_d"])
    assert any(not torch.equal(b, p) for b, p in zip(before, D.parameters(), strict=True))


def test_recipe_spectral_norm_is_off_under_privacy(tmp_path, tiny_npz, tiny_overrides):
    """The recommended recipe (model.recipe auto) picks spectral norm, which DP-SGD cannot take:
    a private run leaves it off instead of failing; a user's explicit choice is still refused."""
    ov = _dp(tiny_overrides, tiny_npz, **{"model.recipe": "auto", "train.steps": 2})
    del ov["model.name"], ov["model.image_size"], ov["model.latent_dim"]  # the recommended
    res = train(build_config({}, ov), tmp_path / "run", progress=False)
    assert privacy_record(res.checkpoint)["steps"] == 2
    cfg = json.loads((res.checkpoint / "meta.json").read_text())["config"]
    assert cfg["model"]["params"].get("spectral_norm") is False
    with pytest.raises(UserError, match="spectral_norm"):
        train(build_config({}, {**ov, "model.params": {"spectral_norm": True}}),
              tmp_path / "run2", progress=False)


def test_mode_seeking_under_dp_pairs_the_fake_classes_and_costs_no_privacy(tmp_path, tiny_npz,
                                                                          tiny_overrides):
    """gan.mode_seeking is G-side only: a conditional DP run with it spends exactly the ε of the
    same run without it, and its fakes' second half repeats the first half's classes."""
    from pixelforge.core.precision import Precision
    from pixelforge.models import MODELS
    from pixelforge.training.private_tasks import PrivateGANTask

    base = _dp(tiny_overrides, tiny_npz, **{"model.name": "dcgan", "model.params": {"width": 8},
                                           "model.conditional": True, "train.steps": 3})
    recs = []
    for weight in (0.0, 1.0):
        res = train(build_config({}, {**base, "gan.mode_seeking": weight}), tmp_path / str(weight),
                    progress=False)
        recs.append(privacy_record(res.checkpoint))
    assert recs[0]["epsilon"] == recs[1]["epsilon"] > 0
    cfg = build_config({}, {**base, "gan.mode_seeking": 1.0})
    task = PrivateGANTask(cfg, MODELS.get("dcgan"), num_classes=10, device=torch.device("cpu"),
                          precision=Precision.resolve("fp32", "off", torch.device("cpu")),
                          num_images=512)
    seen = []
    forward = task.G.forward
    task.g_step = lambda z, y: (seen.append(y.clone()), forward(z, y))[1]
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    task.train_step({"image": x, "label": torch.arange(6)}, 0)
    h = len(seen[0]) // 2
    assert h > 0 and seen[0][h:2 * h].tolist() == seen[0][:h].tolist()


def test_the_shipped_private_recipe_is_the_benchmarked_one_and_trains_from_the_cli(
        tmp_path, tiny_npz, privacy_benchmark_row):
    """`--config privacy/mnist_dp_cgan` holds the settings of the benchmark's best DP row (the
    committed results file's recipe record), and trains privately from the CLI."""

    from typer.testing import CliRunner

    from pixelforge.cli.main import app
    from pixelforge.config import load_config

    cfg = load_config("privacy/mnist_dp_cgan")
    row = privacy_benchmark_row("mnist-dw16-ms-eps10")
    rec = row["recipe"]
    assert (cfg.model.name, cfg.model.params["width"], cfg.model.params["d_width"]) == \
        (rec["model"], rec["width"], rec["d_width"])
    assert (cfg.train.batch_size, cfg.train.n_critic, cfg.train.lr_d, cfg.train.steps,
            cfg.gan.mode_seeking) == (rec["batch_size"], rec["n_critic"], rec["lr"],
                                      rec["planned_steps"], rec["mode_seeking"])
    assert cfg.privacy.target_epsilon == row["target_epsilon"] and cfg.model.conditional
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--config", "privacy/mnist_dp_cgan", "--data",
                                   str(tiny_npz), "--out", str(out), "--steps", "2",
                                   "--train.batch_size", "32", "--quiet"])
    assert res.exit_code == 0, res.output
    rec_ckpt = privacy_record(latest_checkpoint(out))
    assert rec_ckpt["steps"] == 2 and 0 < rec_ckpt["epsilon"] <= 10


def test_the_dp_noise_is_not_redrawable_from_the_config(tmp_path, tiny_npz, tiny_overrides):
    """Two DP runs of one config and train.seed end with different D weights (the noise seed
    comes from the OS and lives in the training state), while two non-private runs of that
    config end bit-equal: a config, which users share, cannot reproduce the noise."""
    def d_weights(name, **extra):
        ov = tiny_overrides(tiny_npz, **{"train.steps": 2, "train.checkpoint_every": 2, **extra})
        train(build_config({}, ov), tmp_path / name, progress=False)
        return load_state(latest_checkpoint(tmp_path / name) /
                          "training_state.safetensors")["task"]

    a, b = d_weights("dp1", **{"privacy.target_epsilon": 5}), \
        d_weights("dp2", **{"privacy.target_epsilon": 5})
    assert a["dp_noise_seed"] != b["dp_noise_seed"]
    assert any(not torch.equal(v, b["D"][k]) for k, v in a["D"].items())
    c, d = d_weights("plain1"), d_weights("plain2")
    assert all(torch.equal(v, d["D"][k]) for k, v in c["D"].items())
