"""Defaults from the data and from the measurements: fill what the user left unset before training.

`resolve_run_config` looks at the data (pixelforge.data.probe) for `model.channels` and
`model.image_size`, then fills every field the user did not set with the family's recommended
recipe for that kind of data (docs/benchmarks.md "Targets and recommendations"; each recipe is
the training part of one file in configs/, kept equal to it by tests/test_defaults.py).
`model.recipe: none` keeps the plain field defaults (the 2016 DCGAN recipe for dcgan); config
files that are not a recommended recipe say so, so the recipe never mixes into them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pixelforge.config import RunConfig
from pixelforge.errors import UserError

log = logging.getLogger("pixelforge.train")

AUTO_MAX_SIZE = 128  # the size picked from the data never exceeds this (CPU training in minutes)
AUTO_MIN_SIZE = 8
MEASURED_MAX_SIZE = 32  # the recipes were measured on MNIST (28 px) and CIFAR-10 (32 px)


@dataclass(frozen=True)
class Recipe:
    """Recommended settings (dotted keys) for one family and kind of data, and where they come from."""

    source: str
    values: dict[str, Any] = field(default_factory=dict)


def _gan(source: str, latent: int, params: dict, loss: str, lr: float, betas: tuple,
         **extra: Any) -> Recipe:
    values = {"model.latent_dim": latent, "model.params": params, "train.loss": loss,
              "train.lr_g": lr, "train.lr_d": lr, "train.betas": betas, "train.batch_size": 64,
              "train.ema_decay": 0.995, **extra}
    return Recipe(source, values)


def _vae(source: str, latent: int, params: dict, batch: int, lr: float, **extra: Any) -> Recipe:
    values = {"model.latent_dim": latent, "model.params": params, "train.batch_size": batch,
              "train.lr_g": lr, "train.betas": (0.9, 0.999), **extra}
    return Recipe(source, values)


_MNIST_VAE = {"likelihood": "bernoulli", "arch": "mlp", "width": 512}
# (family, "grayscale" | "colour") -> recipe; families without an entry keep the plain defaults
RECIPES: dict[tuple[str, str], Recipe] = {
    ("dcgan", "grayscale"): _gan("configs/gan/mnist_dcgan_sn.yaml", 100,
                                 {"width": 32, "spectral_norm": True}, "hinge", 4e-4, (0.0, 0.9)),
    ("dcgan", "colour"): _gan("configs/gan/cifar10_dcgan.yaml", 100, {"width": 64},
                              "non-saturating", 2e-4, (0.5, 0.999)),
    ("resnet-gan", "grayscale"): _gan("configs/gan/mnist_sngan_hinge.yaml", 128, {"width": 32},
                                      "hinge", 2e-4, (0.0, 0.9), **{"train.n_critic": 2}),
    ("resnet-gan", "colour"): _gan("configs/gan/cifar10_sngan_hinge.yaml", 128, {"width": 64},
                                   "hinge", 2e-4, (0.0, 0.9), **{"train.n_critic": 2}),
    ("stylegan-lite", "grayscale"): _gan(
        "configs/gan/mnist_stylegan_lite.yaml", 128,
        {"width": 16, "mapping_layers": 2, "style_mixing": 0.9}, "non-saturating", 5e-4,
        (0.0, 0.99), **{"gan.r1_gamma": 0.01, "gan.r1_every": 16}),
    ("stylegan-lite", "colour"): _gan(
        "configs/gan/cifar10_stylegan_lite.yaml", 128,
        {"width": 32, "mapping_layers": 2, "style_mixing": 0.9}, "non-saturating", 5e-4,
        (0.0, 0.99), **{"gan.r1_gamma": 0.01, "gan.r1_every": 16}),
    ("vae", "grayscale"): _vae("configs/vae/mnist_vae.yaml", 50, _MNIST_VAE, 128, 1e-3,
                               **{"train.precision": "fp32"}),
    ("vae", "colour"): _vae("configs/vae/cifar10_vae.yaml", 128,
                            {"likelihood": "gaussian", "arch": "conv", "width": 64}, 64, 5e-4),
    ("beta-vae", "grayscale"): _vae("configs/vae/mnist_beta_vae.yaml", 50,
                                    {**_MNIST_VAE, "beta": 4.0, "kl_warmup": 5000}, 128, 1e-3,
                                    **{"train.precision": "fp32"}),
    ("cvae", "grayscale"): _vae("configs/vae/mnist_cvae.yaml", 32, _MNIST_VAE, 128, 1e-3,
                                **{"train.precision": "fp32"}),
    ("vae-gan", "grayscale"): Recipe("configs/vae/mnist_vae_gan.yaml", {
        "model.latent_dim": 50, "train.batch_size": 64, "train.lr_g": 3e-4, "train.lr_d": 3e-4,
        "train.betas": (0.5, 0.999), "train.loss": "hinge",
        "model.params": {"likelihood": "bernoulli", "arch": "conv", "width": 32,
                         "disc_width": 32, "adv_weight": 0.1, "disc_spectral_norm": True}}),
    ("vae-gan", "colour"): Recipe("configs/vae/cifar10_vae_gan.yaml", {
        "model.latent_dim": 128, "train.batch_size": 64, "train.lr_g": 3e-4, "train.lr_d": 3e-4,
        "train.betas": (0.5, 0.999),
        "model.params": {"likelihood": "gaussian", "arch": "conv", "width": 64,
                         "disc_width": 64, "adv_weight": 0.02, "disc_spectral_norm": False}}),
    # CycleGAN (Zhu et al. 2017): LSGAN, batch 1, Adam 2e-4 (0.5, 0.999), no augmentation
    ("cyclegan", "colour"): Recipe("configs/translation/facades_cyclegan.yaml", {
        "train.loss": "lsgan", "train.batch_size": 1, "train.lr_g": 2e-4, "train.lr_d": 2e-4,
        "train.betas": (0.5, 0.999), "augment.kind": "none"}),
}


def recipe_for(family: str, channels: int) -> Recipe | None:
    """The recommended recipe of `family` for grayscale (1) or colour (3) images, if measured."""
    return RECIPES.get((family, "colour" if channels == 3 else "grayscale"))


def builds(family_name: str, size: int, channels: int, latent_dim: int,
           params: dict[str, Any]) -> bool:
    """True when every network of the family can be built at `size`. A size a family cannot
    build fails in its constructor's first lines; only a buildable one allocates its weights."""
    from pixelforge.models import MODELS

    fam = MODELS.get(family_name)
    try:
        for role in fam.networks:
            fam.build(role, image_size=size, channels=channels, latent_dim=latent_dim, **params)
    except (UserError, ValueError, RuntimeError):
        return False
    return True


def nearest_size(family_name: str, typical: int, channels: int, latent_dim: int,
                 params: dict[str, Any]) -> int | None:
    """The size the family builds nearest to `typical` (capped to AUTO_MIN..AUTO_MAX_SIZE; the
    larger of two equally near sizes), or None when none within reach builds."""
    target = min(max(typical, AUTO_MIN_SIZE), AUTO_MAX_SIZE)
    for d in range(AUTO_MAX_SIZE):
        for size in (target + d, target - d) if d else (target,):
            if (AUTO_MIN_SIZE <= size <= AUTO_MAX_SIZE
                    and builds(family_name, size, channels, latent_dim, params)):
                return size
    return None


def resolve_run_config(cfg: RunConfig) -> tuple[RunConfig, list[str]]:
    """Fill unset model.channels / model.image_size from the data and unset recipe fields from
    the family's recommended recipe; returns the resolved config (all ints) and what was chosen.

    Idempotent: a resolved config has every field set, so resolving it again changes nothing.
    """
    from pixelforge.models import MODELS

    m = cfg.model
    family = MODELS.get(m.name)  # unknown names fail here with the registry's one-line error
    tree = cfg.model_dump(mode="python")
    notes: list[str] = []
    probe = None
    if m.channels is None or m.image_size is None:
        from pixelforge.data.probe import probe_data

        probe = probe_data(cfg.data.path, split=cfg.data.split, limit=cfg.data.limit)
        notes.append(f"data: {probe.describe()}")
    channels = m.channels if m.channels is not None else probe.channels
    if m.channels is None:
        tree["model"]["channels"] = channels
        notes.append(f"model.channels: {channels} (from the data; set model.channels to change)")
    recipe = recipe_for(family.name, channels) if m.recipe == "auto" else None
    applied = _apply_recipe(cfg, tree, recipe) if recipe is not None else []
    if recipe is not None:
        if applied:
            notes.append(f"recipe: {recipe.source} for {'colour' if channels == 3 else 'grayscale'}"
                         f" images (docs/benchmarks.md), filled {', '.join(applied)}; "
                         "model.recipe none keeps the plain defaults")
    elif m.recipe == "auto" and probe is not None:
        notes.append(f"recipe: none measured for {family.name} on "
                     f"{'colour' if channels == 3 else 'grayscale'} images; plain defaults")
    if m.image_size is None:
        p = tree["model"]
        size = nearest_size(family.name, probe.size, channels, p["latent_dim"], p["params"])
        if size is None:
            raise UserError(f"model.image_size: no size near the data's {probe.size} px builds "
                            f"a {family.name} model with these model.params; set it explicitly")
        tree["model"]["image_size"] = size
        why = ("the data's size" if size == probe.size else
               f"nearest size {family.name} builds to the data's {probe.size} px"
               + (f", capped at {AUTO_MAX_SIZE}" if probe.size > AUTO_MAX_SIZE else ""))
        notes.append(f"model.image_size: {size} ({why}; set model.image_size to change)")
    size = tree["model"]["image_size"]
    if applied and size > MEASURED_MAX_SIZE:
        notes.append(f"recipe: measured at 28-32 px; at {size} px it is the nearest measured "
                     "choice, not a measured one (docs/benchmarks.md)")
    resolved = RunConfig.model_validate(tree)
    return resolved, notes


def _apply_recipe(cfg: RunConfig, tree: dict[str, Any], recipe: Recipe) -> list[str]:
    """Write the recipe's values into `tree` for each field the user did not set. model.params
    is one field: any params the user gives replace the recipe's whole set (never a mix)."""
    applied = []
    for dotted, value in recipe.values.items():
        section, key = dotted.split(".")
        if key not in getattr(cfg, section).model_fields_set and tree[section][key] != value:
            tree[section][key] = dict(value) if isinstance(value, dict) else value
            applied.append(dotted)
    return applied


def log_notes(notes: list[str]) -> None:
    """Say each choice resolve_run_config made in the training log."""
    for note in notes:
        log.info("%s", note)


def resolve_and_log(cfg: RunConfig) -> RunConfig:
    """resolve_run_config, saying each choice in the log (for the Python API's train())."""
    resolved, notes = resolve_run_config(cfg)
    log_notes(notes)
    return resolved
