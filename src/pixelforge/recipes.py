"""Defaults from the data and from the measurements: fill what the user left unset before training.

`resolve_run_config` looks at the data (pixelforge.data.probe) for `model.channels` and
`model.image_size`, then fills every field the user did not set with the family's recommended
recipe for that kind of data (docs/benchmarks.md "Targets and recommendations"; each recipe is
the training part of one shipped recipe, named as `--config` takes it (pixelforge.configs), kept
equal to it by tests/test_defaults.py).
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
PHOTO_MIN_SIZE = 48  # colour pictures this large (typical shorter side) take the photo recipe
# without --model: the recommended family for every kind of image data (docs/benchmarks.md
# "Targets and recommendations"); seed-dcgan stays available by name
DEFAULT_FAMILY = "dcgan"
CHECKPOINT_WARN_BYTES = 500 * 1024**2  # warn before training when one checkpoint is larger


@dataclass(frozen=True)
class Recipe:
    """Recommended settings (dotted keys) for one family and kind of data, and where they come from."""

    source: str  # the shipped recipe (pixelforge.configs) these values are the training part of
    values: dict[str, Any] = field(default_factory=dict)
    max_size: int | None = None  # a size picked from the data is capped here (CPU minutes)
    measured: bool = True  # False: a candidate still to be measured (said in the log)
    sizes: tuple[int, ...] = (28, 32)  # the image sizes it was measured at (MNIST, CIFAR-10)


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


def _photo(recipe: Recipe) -> Recipe:
    """The colour-photo recipe: 64 px unless model.image_size says otherwise; measured on the
    shared photos at 64 and 128 px against the plain DCGAN (benchmarks/photo_gan.py)."""
    return Recipe(recipe.source, recipe.values, max_size=64, sizes=(64, 128))


_MNIST_VAE = {"likelihood": "bernoulli", "arch": "mlp", "width": 512}
# (family, image_kind) -> recipe; families without an entry keep the plain defaults, and a
# family without a "colour-photo" entry takes its "colour" one for photos
RECIPES: dict[tuple[str, str], Recipe] = {
    ("dcgan", "grayscale"): _gan("gan/mnist_dcgan_sn", 100,
                                 {"width": 32, "spectral_norm": True}, "hinge", 4e-4, (0.0, 0.9)),
    ("dcgan", "colour"): _gan("gan/cifar10_dcgan", 100, {"width": 64},
                              "non-saturating", 2e-4, (0.5, 0.999)),
    ("dcgan", "colour-photo"): _photo(_gan(
        "gan/photos_dcgan", 100, {"width": 32, "spectral_norm": True}, "hinge", 2e-4,
        (0.0, 0.9), **{"train.batch_size": 32})),
    ("resnet-gan", "grayscale"): _gan("gan/mnist_sngan_hinge", 128, {"width": 32},
                                      "hinge", 2e-4, (0.0, 0.9), **{"train.n_critic": 2}),
    ("resnet-gan", "colour"): _gan("gan/cifar10_sngan_hinge", 128, {"width": 64},
                                   "hinge", 2e-4, (0.0, 0.9), **{"train.n_critic": 2}),
    ("stylegan-lite", "grayscale"): _gan(
        "gan/mnist_stylegan_lite", 128,
        {"width": 16, "mapping_layers": 2, "style_mixing": 0.9}, "non-saturating", 5e-4,
        (0.0, 0.99), **{"gan.r1_gamma": 0.01, "gan.r1_every": 16}),
    ("stylegan-lite", "colour"): _gan(
        "gan/cifar10_stylegan_lite", 128,
        {"width": 32, "mapping_layers": 2, "style_mixing": 0.9}, "non-saturating", 5e-4,
        (0.0, 0.99), **{"gan.r1_gamma": 0.01, "gan.r1_every": 16}),
    ("vae", "grayscale"): _vae("vae/mnist_vae", 50, _MNIST_VAE, 128, 1e-3,
                               **{"train.precision": "fp32"}),
    ("vae", "colour"): _vae("vae/cifar10_vae", 128,
                            {"likelihood": "gaussian", "arch": "conv", "width": 64}, 64, 5e-4),
    ("beta-vae", "grayscale"): _vae("vae/mnist_beta_vae", 50,
                                    {**_MNIST_VAE, "beta": 4.0, "kl_warmup": 5000}, 128, 1e-3,
                                    **{"train.precision": "fp32"}),
    ("cvae", "grayscale"): _vae("vae/mnist_cvae", 32, _MNIST_VAE, 128, 1e-3,
                                **{"train.precision": "fp32"}),
    ("vae-gan", "grayscale"): Recipe("vae/mnist_vae_gan", {
        "model.latent_dim": 50, "train.batch_size": 64, "train.lr_g": 3e-4, "train.lr_d": 3e-4,
        "train.betas": (0.5, 0.999), "train.loss": "hinge",
        "model.params": {"likelihood": "bernoulli", "arch": "conv", "width": 32,
                         "disc_width": 32, "adv_weight": 0.1, "disc_spectral_norm": True}}),
    ("vae-gan", "colour"): Recipe("vae/cifar10_vae_gan", {
        "model.latent_dim": 128, "train.batch_size": 64, "train.lr_g": 3e-4, "train.lr_d": 3e-4,
        "train.betas": (0.5, 0.999),
        "model.params": {"likelihood": "gaussian", "arch": "conv", "width": 64,
                         "disc_width": 64, "adv_weight": 0.02, "disc_spectral_norm": False}}),
    # CycleGAN (Zhu et al. 2017): LSGAN, batch 1, Adam 2e-4 (0.5, 0.999), no augmentation
    ("cyclegan", "colour"): Recipe("translation/facades_cyclegan", {
        "train.loss": "lsgan", "train.batch_size": 1, "train.lr_g": 2e-4, "train.lr_d": 2e-4,
        "train.betas": (0.5, 0.999), "augment.kind": "none"}),
}


def image_kind(channels: int, size: int | None = None) -> str:
    """'grayscale', 'colour' (small colour pictures) or 'colour-photo' (colour, >= 48 px)."""
    if channels != 3:
        return "grayscale"
    return "colour-photo" if size is not None and size >= PHOTO_MIN_SIZE else "colour"


def recipe_for(family: str, channels: int, size: int | None = None) -> Recipe | None:
    """The recommended recipe of `family` for grayscale (1) or colour (3) images of about `size`
    px, if there is one (photos fall back to the family's small-colour recipe)."""
    kind = image_kind(channels, size)
    recipe = RECIPES.get((family, kind))
    if recipe is None and kind == "colour-photo":
        recipe = RECIPES.get((family, "colour"))
    return recipe


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
    """Fill an unset model.name with the recommended family, unset model.channels /
    model.image_size from the data and unset recipe fields from the family's recommended recipe
    for that kind of data; returns the resolved config (all ints) and what was chosen, and why.

    Idempotent: a resolved config has every field set, so resolving it again changes nothing.
    """
    from pixelforge.models import MODELS

    m = cfg.model
    tree = cfg.model_dump(mode="python")
    notes: list[str] = []
    probe = None
    if m.channels is None or m.image_size is None or "name" not in m.model_fields_set:
        from pixelforge.data.probe import probe_data

        probe = probe_data(cfg.data.path, split=cfg.data.split, limit=cfg.data.limit)
        notes.append(f"data: {probe.describe()}")
    channels = m.channels if m.channels is not None else probe.channels
    if m.channels is None:
        tree["model"]["channels"] = channels
        notes.append(f"model.channels: {channels} (from the data; set model.channels to change)")
    kind = image_kind(channels, m.image_size if m.image_size is not None else probe.size)
    if "name" not in m.model_fields_set:
        tree["model"]["name"] = _default_family(cfg, kind, probe, notes)
    family = MODELS.get(tree["model"]["name"])  # unknown names: the registry's one-line error
    sides = None
    if family.kind == "translation" and cfg.data.path_b and cfg.translation.pairs != "gray":
        sides = _translation_sides(cfg, probe, notes)
        channels = tree["model"]["channels"] = sides[1]
    recipe = recipe_for(family.name, channels, m.image_size or probe.size) \
        if m.recipe == "auto" else None
    applied = _apply_recipe(cfg, tree, recipe) if recipe is not None else []
    if sides is not None and sides[0] != sides[1]:
        tree["model"]["params"] = {**tree["model"]["params"], "in_channels": sides[0]}
    if recipe is not None and applied:
        notes.append(f"recipe: {recipe.source} for {kind} images (docs/benchmarks.md), filled "
                     f"{', '.join(applied)}; model.recipe none keeps the plain defaults")
    elif recipe is None and m.recipe == "auto" and probe is not None:
        notes.append(f"recipe: none measured for {family.name} on {kind} images; plain defaults")
    if m.image_size is None:
        _size_from_data(tree, family.name, probe, recipe if applied else None, notes)
    size = tree["model"]["image_size"]
    if applied and not recipe.measured:
        notes.append(f"recipe: {recipe.source} is a candidate not yet measured "
                     "(docs/benchmarks.md); --config gan/cifar10_dcgan is the measured one")
    elif applied and size > max(recipe.sizes):
        notes.append(f"recipe: measured at {' and '.join(map(str, recipe.sizes))} px; at {size} "
                     "px it is the nearest measured choice, not a measured one "
                     "(docs/benchmarks.md)")
    resolved = RunConfig.model_validate(tree)
    big = checkpoint_warning(resolved)
    if big:
        notes.append(big)
    return resolved, notes


def _default_family(cfg: RunConfig, kind: str, probe: Any, notes: list[str]) -> str:
    """The family trained when --model is not given: the recommended one (dcgan) for image sets;
    a second image set (data.path_b) needs a translation model, which has to be named."""
    if cfg.data.path_b is not None:
        raise UserError("model.name: data.path_b (a second image set) trains image-to-image "
                        "translation; name the model: --model pix2pix (paired) or "
                        "--model cyclegan (unpaired)")
    count = f"{probe.count} " if probe is not None and probe.count else ""
    notes.append(f"model.name: {DEFAULT_FAMILY} (no --model: the recommended family for "
                 f"{count}{kind} images, docs/benchmarks.md; --model seed-dcgan trains the "
                 "seed's model)")
    return DEFAULT_FAMILY


def _translation_sides(cfg: RunConfig, probe_a: Any, notes: list[str]) -> tuple[int, int]:
    """(input, output) channels of an image-to-image model: the input side of data.direction
    (data.path for a2b) gives model.params.in_channels, the output side model.channels; what
    the user set wins. Replaces the one-set channel note."""
    from pixelforge.data.probe import probe_data

    d, m = cfg.data, cfg.model
    names = ("data.path", "data.path_b") if d.direction == "a2b" else ("data.path_b", "data.path")

    def look(field: str) -> int:
        if field == "data.path" and probe_a is not None:
            return probe_a.channels
        return probe_data(getattr(d, field.split(".")[1]), split=d.split, limit=d.limit).channels

    out = m.channels if m.channels is not None else look(names[1])
    given = (m.params or {}).get("in_channels")
    inp = int(given) if given is not None else look(names[0])
    if m.channels is not None and given is not None:
        return inp, out  # both set (e.g. a resolved config): nothing chosen
    notes[:] = [n for n in notes if not n.startswith("model.channels:")]
    notes.append(f"model.channels: {out}, model.params.in_channels: {inp} (image-to-image: the "
                 f"input follows {names[0]}, the output {names[1]}; set them to change)")
    return inp, out


def _size_from_data(tree: dict[str, Any], family: str, probe: Any, recipe: Recipe | None,
                    notes: list[str]) -> None:
    """model.image_size: the size `family` builds nearest the data's typical size, capped at
    AUTO_MAX_SIZE or at the applied recipe's max_size."""
    p = tree["model"]
    cap = recipe.max_size if recipe is not None and recipe.max_size else AUTO_MAX_SIZE
    params = dict(p["params"])
    if tree["model"].get("conditional") and "num_classes" not in params:
        params["num_classes"] = 2  # class-dependent parts (e.g. an AC-GAN head) need some count;
        # whether a size builds does not depend on how many classes there are
    size = nearest_size(family, min(probe.size, cap), p["channels"], p["latent_dim"], params)
    if size is None:
        raise UserError(f"model.image_size: no size near the data's {probe.size} px builds "
                        f"a {family} model with these model.params; set it explicitly")
    p["image_size"] = size
    why = ("the data's size" if size == probe.size else
           f"nearest size {family} builds to the data's {probe.size} px"
           + (f", capped at {cap}" + (f" by {recipe.source}" if cap != AUTO_MAX_SIZE else "")
              if probe.size > cap else ""))
    notes.append(f"model.image_size: {size} ({why}; set model.image_size to change)")


def checkpoint_bytes(cfg: RunConfig) -> int | None:
    """Estimated bytes of one checkpoint, from parameter counts (networks built on the meta
    device, so nothing is allocated): 4 bytes x (weights + two Adam moments + EMA/export copy),
    one more copy for a generator (its EMA and its export). None when it cannot be built."""
    import torch

    from pixelforge.models import MODELS

    m = cfg.model
    fam = MODELS.get(m.name)
    total = 0
    try:
        with torch.device("meta"):
            for role in fam.networks:
                net = fam.build(role, image_size=m.image_size, channels=m.channels,
                                latent_dim=m.latent_dim, **m.params)
                n = sum(p.numel() for p in net.parameters())
                total += n * (5 if role == "generator" else 4) * 4
    except Exception:  # noqa: BLE001 - an estimate only; building for real reports the problem
        return None
    return total


def checkpoint_warning(cfg: RunConfig) -> str | None:
    """A warning note when one checkpoint would exceed CHECKPOINT_WARN_BYTES (issue 22)."""
    size = checkpoint_bytes(cfg)
    if size is None or size <= CHECKPOINT_WARN_BYTES:
        return None
    keep = cfg.train.keep_checkpoints
    return (f"warning: each checkpoint of this {cfg.model.name} at {cfg.model.image_size} px "
            f"will be ~{size / 1e9:.1f} GB ({keep} kept: ~{keep * size / 1e9:.1f} GB); a smaller "
            "model.image_size or model.params.width, or the recommended model (no --model), "
            "keeps it small")


def _apply_recipe(cfg: RunConfig, tree: dict[str, Any], recipe: Recipe) -> list[str]:
    """Write the recipe's values into `tree` for each field the user did not set. model.params
    is one field: any params the user gives replace the recipe's whole set (never a mix)."""
    applied = []
    for dotted, value in recipe.values.items():
        section, key = dotted.split(".")
        if dotted == "model.params" and cfg.privacy is not None and value.get("spectral_norm"):
            value = {**value, "spectral_norm": False}  # DP-SGD (Opacus) cannot take it
        if key not in getattr(cfg, section).model_fields_set and tree[section][key] != value:
            tree[section][key] = dict(value) if isinstance(value, dict) else value
            applied.append(dotted)
    return applied


def log_notes(notes: list[str]) -> None:
    """Say each choice resolve_run_config made in the training log (warnings as warnings)."""
    for note in notes:
        if note.startswith("warning: "):
            log.warning("%s", note.removeprefix("warning: "))
        else:
            log.info("%s", note)


def resolve_and_log(cfg: RunConfig) -> RunConfig:
    """resolve_run_config, saying each choice in the log (for the Python API's train())."""
    resolved, notes = resolve_run_config(cfg)
    log_notes(notes)
    return resolved
