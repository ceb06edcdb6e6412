"""Typed run configuration: defaults < YAML file < dotted CLI overrides, validated by pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pixelforge.errors import UserError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Section):
    """Which registered family to build, and its shape."""

    name: str = "seed-dcgan"
    # None = from the data (pixelforge.recipes.resolve_run_config, before training)
    image_size: int | None = Field(
        None, ge=8, le=1024, description="unset: the size the family builds nearest the data's")
    channels: Literal[1, 3] | None = Field(
        None, description="unset: 3 if the images are colour, else 1")
    latent_dim: int = Field(128, ge=1)
    params: dict[str, Any] = Field(default_factory=dict, description="family-specific options")
    conditional: bool = Field(False, description="class-conditional G and D (needs labelled data)")
    recipe: Literal["auto", "none"] = Field(
        "auto", description="auto: unset fields take the family's recommended recipe for the "
        "data (docs/benchmarks.md); none: plain defaults (the 2016 DCGAN recipe)")


class DataConfig(_Section):
    """Where the training images come from (folder, .npz, data set name or 'default')."""

    path: str = "default"
    path_b: str | None = Field(
        None, description="second image set: paired targets (matched to data.path by file name "
        "or row) or unpaired set B; unset for paired data = side-by-side input|target images")
    split: Literal["train", "test"] = "train"
    limit: int | None = Field(None, ge=1, description="use only the first N images")
    resize_filter: Literal["bicubic", "bilinear", "lanczos", "nearest"] = "bicubic"
    num_workers: int = Field(0, ge=0)
    direction: Literal["a2b", "b2a"] = Field(
        "a2b", description="translation: a2b maps data.path (A) to data.path_b (B); b2a the "
        "reverse (pix2pix trains that one generator, CycleGAN both)")
    classes: list[int] | None = Field(
        None, description="translation: keep only these class labels of data.path (set A)")
    classes_b: list[int] | None = Field(
        None, description="translation: keep only these class labels of data.path_b (set B)")


class TrainConfig(_Section):
    """Optimisation, logging and checkpointing of the one trainer."""

    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=1)
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)
    loss: str = Field("non-saturating", description="a registered GAN loss name")
    ema_decay: float = Field(0.999, ge=0, lt=1)
    ema_start: int = Field(0, ge=0, description="step after which the EMA starts averaging")
    ema_rampup: float | None = Field(
        0.05, gt=0, description="StyleGAN2 ramp-up: EMA half-life at most this fraction of the "
        "images seen so far (None: the fixed ema_decay from the start)")
    seed: int = 0
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: Literal["auto", "on", "off"] = "auto"
    log_every: int = Field(10, ge=1)
    sample_every: int = Field(250, ge=1)
    checkpoint_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(3, ge=1)
    n_samples: int = Field(64, ge=1, description="images in each progress sample grid")
    n_critic: int = Field(1, ge=1, description="D (critic) steps per G step")
    time_budget: float | None = Field(None, gt=0, description="stop after this many minutes")
    budget_clock: Literal["wall", "cpu"] = Field(
        "wall", description="time_budget in wall-clock or process CPU minutes (fair on busy hosts)")
    init: str | None = Field(
        None, description="initialise the networks from a run, checkpoint or shipped model name "
        "(fine-tuning; `pixelforge train --init`)")

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, v: str) -> str:
        from pixelforge.losses import GAN_LOSSES

        if v not in GAN_LOSSES:
            raise ValueError(f"unknown loss; choose one of: {', '.join(GAN_LOSSES.names())}")
        return v


class GanConfig(_Section):
    """Regularizers of the adversarial game (all off by default: the plain recipe)."""

    gp_weight: float = Field(0.0, ge=0, description="WGAN-GP gradient penalty weight (10 typical)")
    r1_gamma: float = Field(0.0, ge=0, description="R1 penalty gamma on real images")
    r1_every: int = Field(16, ge=1, description="lazy R1: apply every N D steps, scaled by N")
    clip_weights: float | None = Field(None, gt=0, description="WGAN weight clipping to [-c, c]")
    grad_clip: float | None = Field(None, gt=0, description="clip G and D gradient norms")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="one-sided: real target 1 - s")
    ac_weight: float = Field(1.0, ge=0, description="AC-GAN class-loss weight")
    mode_seeking: float = Field(
        0.0, ge=0, description="weight of MSGAN's mode-seeking term in G's loss (Mao et al. 2019; "
        "1 in the paper): keeps a conditional G from making one image per class")


class AugmentConfig(_Section):
    """Differentiable augmentation of D's inputs (real and fake) for small data sets."""

    kind: Literal["auto", "none", "diffaugment", "ada"] = Field(
        "auto", description="auto: translation-only DiffAugment for long runs on small colour "
        "data sets, where it measured better (docs/gan.md); otherwise off")
    policy: list[Literal["color", "translation", "cutout"]] = Field(
        default_factory=lambda: ["color", "translation", "cutout"])
    small_data: int = Field(5000, ge=0, description="auto switches augmentation on below this")
    auto_min_steps: int = Field(5000, ge=0, description="auto: only for runs of this many steps")
    auto_min_minutes: float = Field(
        20.0, ge=0, description="auto: and, with train.time_budget, of this many minutes")
    pad: Literal["zero", "reflect"] = Field(
        "zero", description="what translation shifts in: zero (grey, as DiffAugment) or reflect")
    p: float = Field(0.0, ge=0, le=1, description="ADA: initial augmentation probability")
    ada_target: float = Field(0.6, gt=0, lt=1, description="ADA: target E[sign(D(real))]")
    ada_interval: int = Field(4, ge=1, description="ADA: adjust p every N D steps")
    ada_speed: int = Field(100_000, ge=1, description="ADA: images for p to move by 1")


class HealthConfig(_Section):
    """Training-health monitor: divergence and mode-collapse detection."""

    enabled: bool = True
    every: int = Field(50, ge=1, description="steps between diversity checks")
    collapse_threshold: float = Field(0.1, ge=0, description="diversity ratio below this = collapse")
    explode_factor: float = Field(100.0, gt=1, description="|loss_d| above factor x running mean")
    warmup: int = Field(200, ge=0, description="steps before loss explosions and collapse count")
    action: Literal["stop", "rollback", "warn"] = Field(
        "warn", description="on divergence/collapse: stop, roll back with lower lr, or warn "
        "(NaN/inf always stops unless rolling back)")
    lr_factor: float = Field(0.5, gt=0, lt=1, description="rollback multiplies both lrs by this")
    max_rollbacks: int = Field(3, ge=0)


class EvalConfig(_Section):
    """How `pixelforge eval` scores a generator."""

    n_generated: int = Field(5000, ge=2)
    n_real: int | None = Field(None, ge=2, description="real images to use (default: all)")
    batch_size: int = Field(250, ge=1)
    extractor_epochs: int = Field(2, ge=1)
    seed: int = 12345


class RestoreConfig(_Section):
    """Restoration training (kinds denoise, upscale, inpaint): degradations, masks and losses."""

    degradation: str = Field(
        "blind", description="denoise input: noise:SIGMA, jpeg:Q, blur:S or blind (sigma 0-50, "
        "JPEG 30-95, mild blur); upscale: bicubic (the default) or realistic (Real-ESRGAN-style "
        "second-order blur/resize/noise/JPEG chain), at the model's scale")
    masks: list[Literal["thin", "medium", "thick", "wide", "wide15_40"]] = Field(
        default_factory=lambda: ["thin", "medium", "thick"],
        description="inpaint: mask modes drawn uniformly per training crop: LaMa's thin / medium "
        "/ thick protocols, or wide (boxes + thick strokes covering 10-50%) / wide15_40 (15-40%)")
    pixel_loss: Literal["l1", "l2"] = "l1"
    hole_weight: float = Field(6.0, ge=0, description="inpaint: L1 weight inside the hole")
    adv_weight: float = Field(0.0, ge=0, description="adversarial loss weight (0: no adversary)")
    feature_weight: float = Field(
        0.0, ge=0, description="feature-matching loss weight in the feature_net's features")
    feature_net: Literal["extractor", "random", "gabor"] = Field(
        "extractor", description="the frozen network of the feature loss: extractor (the `cnn` "
        "evaluator's, trained on data.path), random (a seeded random-weight conv net, which "
        "no benchmark judge uses) or gabor (a fixed oriented Gabor-energy bank at 3 octaves, "
        "losses/perceptual.py, also no judge's)")
    patches_per_image: int = Field(
        2000, ge=1, description="seeded crops per photo in one pass over the data")


class TranslationConfig(_Section):
    """Image translation training (pix2pix, CycleGAN): pairs, loss weights, pool, jitter, lr decay."""

    pairs: Literal["data", "gray"] = Field(
        "data", description="pix2pix pairs: data (data.path + data.path_b, or A|B images) or gray "
        "(input = BT.601 luma of each data.path photo, made on the fly: colourisation)")
    lambda_l1: float = Field(100.0, ge=0, description="pix2pix: weight of L1 to the target")
    adv_weight: float = Field(
        1.0, ge=0, description="weight of the adversarial loss (0: no discriminator, the "
        "L1-only / cycle-only baseline)")
    lambda_cycle: float = Field(10.0, ge=0, description="CycleGAN: cycle-consistency weight")
    lambda_identity: float = Field(
        0.5, ge=0, description="CycleGAN: identity loss weight, times lambda_cycle (0: off)")
    pool_size: int = Field(50, ge=0, description="past fakes kept per discriminator (0: no pool)")
    jitter: bool = Field(
        False, description="resize to 1.12x, random crop back, random flip (same for a pair)")
    crop: Literal["center", "random"] = Field(
        "center", description="pairs gray: one centre crop per photo, or random square crops "
        "of 1/2 to all of the shorter side (resized to model.image_size)")
    decay_start: float = Field(
        0.5, ge=0, le=1, description="fraction of train.steps after which the learning rates "
        "fall linearly to 0 (1: constant)")


class MERFConfig(_Section):
    """MERF training (kind merf): G matches the data's mean embedding in random Fourier
    features of a Gaussian kernel; with a `privacy` section, DP-MERF's one noisy release."""

    features: int = Field(10000, ge=2, le=200_000, description="random Fourier features D "
                          "(cos and sin of D/2 projections)")
    lengthscale: float = Field(0.5, gt=0, description="the Gaussian kernel's lengthscale, in "
                               "units of sqrt(pixels x channels) of images in [-1, 1]")


class PrivacyConfig(_Section):
    """Differentially private training with DP-SGD (Abadi et al. 2016) through Opacus: per-sample
    clipping and Gaussian noise on what sees the data (a GAN's D, a whole VAE), Poisson sampling,
    and an accountant; docs/privacy.md says what the guarantee covers."""

    target_epsilon: float = Field(gt=0, description="the privacy budget: training never spends "
                                  "more (it stops first)")
    delta: float | None = Field(
        None, gt=0, lt=1, description="unset: the largest power of ten below 1/N (N training "
        "images), e.g. 1e-5 for MNIST's 60,000")
    max_grad_norm: float = Field(1.0, gt=0, description="per-sample gradient clipping norm C")
    noise_multiplier: float | None = Field(
        None, gt=0, description="noise std / C; unset: derived from target_epsilon, delta, the "
        "sampling rate and train.steps")
    accountant: Literal["rdp", "prv"] = Field("rdp", description="Renyi DP (Mironov 2017) or "
                                              "PRV (Gopi et al. 2021) accounting")


def kind_sections() -> dict[str, type[BaseModel]]:
    """Config sections that model kinds declare beyond the built-in ones (pixelforge.kinds:
    `config=(name, model)`), by section name."""
    from pixelforge.kinds import all_kinds, resolve

    out: dict[str, type[BaseModel]] = {}
    for kind in all_kinds():
        if kind.config is not None and kind.config[0] not in RunConfig.model_fields:
            out[kind.config[0]] = resolve(kind.config[1])
    return out


class RunConfig(_Section):
    """Every section of a run; a model kind's own section (from a plugin) is an extra one,
    validated by the pydantic model its declaration names (`cfg.<section>`)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    gan: GanConfig = Field(default_factory=GanConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    restore: RestoreConfig = Field(default_factory=RestoreConfig)
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    merf: MERFConfig = Field(default_factory=MERFConfig)
    privacy: PrivacyConfig | None = Field(
        None, description="differentially private training (unset: not private)")

    @model_validator(mode="before")
    @classmethod
    def _kind_sections(cls, data: Any) -> Any:
        """Unknown top-level keys are refused; declared kind sections validated or defaulted."""
        if not isinstance(data, dict):
            return data
        sections = kind_sections()
        unknown = [k for k in data if k not in cls.model_fields and k not in sections]
        if unknown:
            allowed = [*cls.model_fields, *sections]
            raise ValueError(f"{unknown[0]}: unknown key; allowed: {', '.join(allowed)}")
        out = dict(data)
        for name, model in sections.items():
            value = out.get(name)
            if isinstance(value, model):
                continue
            try:
                out[name] = model.model_validate(value or {})
            except ValidationError as err:
                first = err.errors()[0]
                loc = ".".join(str(p) for p in (name, *first["loc"]))
                raise ValueError(f"{loc}: {first['msg']}") from None
        return out


def _format_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"]
        if not e["loc"] and e["type"] == "value_error":  # RunConfig's own check names the key
            lines.append(msg.removeprefix("Value error, "))
            continue
        if e["type"] == "extra_forbidden":
            parent = RunConfig
            for part in e["loc"][:-1]:
                field = parent.model_fields.get(str(part))
                ann = field.annotation if field else None
                if isinstance(ann, type) and issubclass(ann, BaseModel):
                    parent = ann
            msg = f"unknown key; allowed: {', '.join(parent.model_fields)}"
        elif "input" in e and e["type"] not in ("missing",):
            msg = f"{msg} (got {e['input']!r})"
        lines.append(f"{loc}: {msg}")
    return f"invalid config ({source}): " + "; ".join(lines)


def parse_override_value(text: str) -> Any:
    """Parse a CLI override value as YAML so numbers, booleans and lists work."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    if len(parts) < 2 or not all(parts):
        raise UserError(f"override {dotted!r} must look like section.key (e.g. train.lr_g)")
    node = tree
    for p in parts[:-1]:
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise UserError(f"override {dotted!r}: {p!r} is not a section")
        node = nxt
    node[parts[-1]] = value


_MAX_YAML_NODES = 100_000


def _expanded_size(node: yaml.Node | None, memo: dict[int, int] | None = None) -> int:
    """Values a composed YAML document holds once aliases are expanded (guards alias bombs)."""
    if node is None:
        return 0
    memo = {} if memo is None else memo
    if id(node) not in memo:
        memo[id(node)] = 1  # a recursive alias counts once instead of looping
        kids = node.value if isinstance(node, yaml.SequenceNode) else (
            [x for pair in node.value for x in pair] if isinstance(node, yaml.MappingNode) else [])
        memo[id(node)] = 1 + sum(_expanded_size(k, memo) for k in kids)
    return memo[id(node)]


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"config file not found: {p}")
    try:
        text = p.read_bytes().decode("utf-8")
        if _expanded_size(yaml.compose(text, Loader=yaml.SafeLoader)) > _MAX_YAML_NODES:
            raise UserError(f"config file {p} expands to more than {_MAX_YAML_NODES} values "
                            "(YAML aliases nested too deep); write the values out")
        data = yaml.safe_load(text) or {}
    except UnicodeDecodeError as exc:
        raise UserError(f"config file {p} is not UTF-8 text (byte {exc.start})") from None
    except RecursionError:
        raise UserError(f"config file {p} is nested too deeply") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config file {p} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"config file {p} must hold a mapping of sections, not {type(data).__name__}")
    return data


def build_config(
    tree: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    source: str = "config",
) -> RunConfig:
    """Validate a nested dict (plus dotted overrides) into a RunConfig; errors name the field."""
    merged: dict[str, Any] = _deep_copy(tree or {})
    for key, value in (overrides or {}).items():
        set_dotted(merged, key, value)
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as err:
        raise UserError(_format_error(err, source)) from None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A RunConfig from a YAML file or a shipped recipe name ('demo', 'gan/mnist_dcgan_sn';
    see pixelforge.configs), plus dotted overrides; None gives the defaults."""
    if not path:
        return build_config({}, overrides, source="defaults")
    from pixelforge.configs import find

    file = find(path)
    return build_config(load_yaml(file), overrides, source=str(file))


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def _deep_copy(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in tree.items()}
