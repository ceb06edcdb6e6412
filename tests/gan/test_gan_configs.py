"""The shipped gan/*.yaml recipes validate and name registered models/losses; the benchmark's baselines train."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from pixelforge.config import load_config
from pixelforge.configs import root as configs_root
from pixelforge.losses import GAN_LOSSES
from pixelforge.models import MODELS

ROOT = Path(__file__).resolve().parents[2]
ALL_CONFIGS = sorted((configs_root() / "gan").glob("*.yaml"))
# The default-path recipe for colour photos has no benchmark entry of its own (docs/gan.md#recipes).
DEFAULT_PATH = {"photos_dcgan"}
CONFIGS = [p for p in ALL_CONFIGS if p.stem not in DEFAULT_PATH]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gan_baselines  # noqa: E402
import gan_quality  # noqa: E402


def test_there_is_one_config_per_benchmark_entry_and_data_set():
    names = {p.stem for p in CONFIGS}
    expected = {f"{d}_{c.replace('-', '_')}" for d in ("mnist", "cifar10") for c in gan_quality.CONFIGS}
    assert names == expected
    assert {p.stem for p in ALL_CONFIGS} == names | DEFAULT_PATH


def test_photo_recipe_builds_a_colour_dcgan_that_fits_a_checkpoint_budget():
    cfg = load_config(configs_root() / "gan" / "photos_dcgan.yaml")
    family = MODELS.get(cfg.model.name)
    assert family.kind == "gan" and cfg.model.channels == 3
    shape = dict(image_size=cfg.model.image_size or 64, channels=3,
                 latent_dim=cfg.model.latent_dim, **cfg.model.params)
    g, d = family.build("generator", **shape), family.build("discriminator", **shape)
    params = sum(p.numel() for m in (g, d) for p in m.parameters())
    assert params * 4 < 500e6 / 4  # far below the 500 MB checkpoint warning (G, D, EMA, Adam)
    x = g(torch.randn(2, cfg.model.latent_dim))
    assert x.shape == (2, 3, shape["image_size"], shape["image_size"])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_validates_and_names_registered_parts(path):
    assert path.read_text().startswith("# "), "each config opens with a comment naming the paper"
    cfg = load_config(path)
    assert cfg.train.loss in GAN_LOSSES.names()
    mnist = "mnist" in path.stem
    assert cfg.model.image_size == (28 if mnist else 32)  # native sizes: resampling costs FD
    assert cfg.model.channels == (1 if mnist else 3)
    assert cfg.data.path.endswith(("mnist.npz", "cifar10.npz"))
    if cfg.model.name not in MODELS.names():
        pytest.skip(f"model {cfg.model.name!r} is not registered yet")
    family = MODELS.get(cfg.model.name)
    assert family.kind == "gan"
    family.check_params(cfg.model.params)  # raises UserError on an option the family lacks
    if cfg.model.conditional:
        assert "num_classes" in family.options("generator")
    shape = dict(image_size=cfg.model.image_size, channels=cfg.model.channels,
                 latent_dim=cfg.model.latent_dim,
                 **({"num_classes": 10} if cfg.model.conditional else {}), **cfg.model.params)
    g, d = family.build("generator", **shape), family.build("discriminator", **shape)
    cond = [torch.arange(2)] if cfg.model.conditional else []  # labels for conditional nets
    x = g(torch.randn(2, cfg.model.latent_dim), *cond)
    assert x.shape == (2, cfg.model.channels, cfg.model.image_size, cfg.model.image_size)
    logits = d(x, *cond)
    assert (logits[0] if isinstance(logits, tuple) else logits).shape == (2,)


def test_wasserstein_configs_constrain_the_critic():
    for path in CONFIGS:
        cfg = load_config(path)
        if cfg.train.loss == "wasserstein":
            assert cfg.gan.gp_weight or cfg.gan.clip_weights, path.stem
            assert cfg.train.n_critic == 5, path.stem
        if cfg.gan.gp_weight:  # a per-sample penalty: no BatchNorm in the critic
            assert cfg.model.name == "resnet-gan" and cfg.model.params["spectral_norm"] is False


def test_run_config_sets_the_cpu_budget_and_the_augment_variant():
    ds = gan_quality.DATASETS["mnist-1k"]
    cfg = gan_quality.run_config(ds, "dcgan+diffaugment", budget=0.5, seed=3)
    assert (cfg.train.time_budget, cfg.train.budget_clock) == (0.5, "cpu")
    assert cfg.augment.kind == "diffaugment" and cfg.data.limit == 1000 and cfg.train.seed == 3
    assert gan_quality.run_config(ds, "dcgan", budget=1, seed=0).augment.kind == "none"


def test_native_size_view_resizes_samples_into_range():
    g = gan_baselines.ExamplesGenerator(image_size=32, channels=1, latent_dim=8, width=8)
    view = gan_quality.NativeSize(g, 28)
    x = view.generate(5, seed=1)
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert (view.image_size, view.channels) == (28, 1)


def test_augment_ablation_plans_variants_only_on_small_sets():
    class Args:
        datasets = ["mnist", "mnist-1k"]
        configs = ["dcgan", "wgan-gp-mlp"]
        augment_ablation = True

    jobs = {(j.dataset, j.name, j.kind) for j in gan_quality.plan(Args)}
    assert ("mnist-1k", "dcgan+ada", "pixelforge") in jobs
    assert ("mnist-1k", "dcgan+diffaugment", "pixelforge") in jobs
    assert not any(d == "mnist" and "+" in n for d, n, _ in jobs)
    assert ("mnist", "wgan-gp-mlp", "baseline") in jobs and ("mnist", "reference", "reference") in jobs


@pytest.mark.parametrize("name,size", [("examples-dcgan", 16), ("wgan-gp-mlp", 12)])
def test_baseline_trains_and_generates_images_in_range(name, size):
    torch.set_num_threads(1)
    images = torch.randint(0, 256, (70, 3, size, size), dtype=torch.uint8)
    gen, stats = gan_baselines.train_baseline(name, images, budget_minutes=1.0, max_steps=2, seed=0)
    assert stats["steps"] == 2 and all(torch.isfinite(torch.tensor(v)) for v in stats["last_logs"].values())
    fresh = type(gen)(**{k: getattr(gen, k) for k in ("image_size", "channels", "latent_dim")})
    changed = any(not torch.equal(a, b) for a, b in zip(gen.state_dict().values(),
                                                          fresh.state_dict().values(), strict=True)
                  if a.is_floating_point())
    assert changed, "training moved no generator parameter"
    x = gen.generate(6, seed=0)
    assert x.shape == (6, 3, size, size) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0
    assert torch.equal(x, gen.generate(6, seed=0))  # seeded sampling


def test_baseline_rejects_bad_input():
    from pixelforge.errors import UserError

    with pytest.raises(UserError, match="unknown baseline"):
        gan_baselines.train_baseline("nope", torch.zeros(64, 1, 16, 16), budget_minutes=0.01)
    with pytest.raises(UserError, match="64"):
        gan_baselines.train_baseline("wgan-gp-mlp", torch.zeros(10, 1, 16, 16), budget_minutes=0.01)


def test_benchmark_run_variants_set_config_fields():
    """'<config>+<augment>@key=value,...' names a tuning variant: its fields reach the RunConfig."""
    name = "dcgan-sn+ada@model.params.width=16,train.betas=[0.0,0.9],train.lr_d=1.0e-4"
    assert gan_quality.split_name(name) == (
        "dcgan-sn", "ada",
        {"model.params.width": 16, "train.betas": [0.0, 0.9], "train.lr_d": 1.0e-4})
    cfg = gan_quality.run_config(gan_quality.DATASETS["mnist"], name, budget=1.0, seed=3)
    assert cfg.model.params["width"] == 16 and cfg.train.betas == (0.0, 0.9)
    assert cfg.train.lr_d == 1.0e-4 and cfg.augment.kind == "ada" and cfg.train.seed == 3
    with pytest.raises(ValueError, match="key=value"):
        gan_quality.split_name("dcgan@width")


def test_d_real_accuracy_scores_the_final_d_on_trained_and_held_out_reals(tmp_path, tiny_npz,
                                                                          tiny_overrides):
    """The overfitting diagnostic of the 1k tables: fractions of n trained-on and n held-out real
    images the run's last D calls real; nothing for a critic without a real/fake threshold."""
    from pixelforge.checkpoint import latest_checkpoint
    from pixelforge.config import build_config
    from pixelforge.training import train

    ds = gan_quality.DataSet("tiny", str(tiny_npz), 16, 1, 64)  # an absolute file wins over DATA_DIR
    over = tiny_overrides(tiny_npz, **{"model.name": "dcgan", "model.params": {"width": 8},
                                       "train.steps": 3, "data.limit": 64})
    cfg = build_config({}, over)
    train(cfg, tmp_path / "run", progress=False)
    ckpt = latest_checkpoint(tmp_path / "run")
    acc = gan_quality.d_real_accuracy(cfg, ds, ckpt, n=32)
    assert set(acc) == {"d_acc_train", "d_acc_heldout"}
    assert all(0.0 <= v <= 1.0 and abs(v * 32 - round(v * 32)) < 0.01 for v in acc.values())
    critic = build_config({}, {**over, "train.loss": "wasserstein", "gan.gp_weight": 10.0})
    assert gan_quality.d_real_accuracy(critic, ds, ckpt, n=32) == {}
    assert gan_quality.d_real_accuracy(cfg, ds, None, n=32) == {}
