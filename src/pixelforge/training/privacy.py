"""Differentially private training, the plan and the bookkeeping (DP-SGD, Abadi et al. 2016, on
Opacus): the noise multiplier from the budget, the steps the budget affords, ε spent so far,
the refusals, Poisson-sampled batches, and the record written into every checkpoint.

The private tasks themselves (a GAN's D, a whole VAE) live in training/private_tasks.py; the
trainer calls the hooks here only when `cfg.privacy` is set. docs/privacy.md says what the
guarantee covers."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from pixelforge.config import RunConfig
from pixelforge.errors import UserError
from pixelforge.training.sampler import step_generator

log = logging.getLogger("pixelforge.train")
POISSON_STREAM = 101  # step_generator stream of the Poisson batch draw (tasks use small ids)
PRIVATE_KINDS = ("gan", "vae", "merf")  # merf: its own one release (training/merf.py)


def default_delta(n: int) -> float:
    """The largest power of ten below 1/N: 1e-5 for MNIST's 60,000 images, 1e-2 for 64."""
    return 10.0 ** -(math.floor(math.log10(n)) + 1)


def epsilon_spent(sigma: float, q: float, steps: int, delta: float, accountant: str) -> float:
    """ε after `steps` Poisson-subsampled Gaussian steps, from Opacus's accountant (0 steps: 0)."""
    if steps <= 0:
        return 0.0
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(sigma, q, int(steps))]
    return float(acc.get_epsilon(delta=delta))


@dataclass(frozen=True)
class PrivacyPlan:
    """What one DP run does: N private records, Poisson rate q = batch/N, noise σ, clip C."""

    n_records: int
    batch_size: int
    sample_rate: float
    delta: float
    noise_multiplier: float
    max_grad_norm: float
    accountant: str
    target_epsilon: float
    max_steps: int  # the most steps whose ε stays within target_epsilon

    def epsilon(self, steps: int) -> float:
        return epsilon_spent(self.noise_multiplier, self.sample_rate, steps, self.delta,
                             self.accountant)

    def describe(self) -> str:
        """The log line of the run's start."""
        return (f"privacy: DP-SGD, target ε={self.target_epsilon:g}, δ={self.delta:g} "
                f"({self.accountant}), σ={self.noise_multiplier:.4g}, C={self.max_grad_norm:g}, "
                f"sampling rate {self.sample_rate:.4g} of {self.n_records} records, at most "
                f"{self.max_steps} steps")

    def record(self, steps: int) -> dict[str, Any]:
        """The accounting after `steps` D (or VAE) steps, as checkpoints and `info` show it."""
        return {"epsilon": round(self.epsilon(steps), 6), "steps": int(steps),
                **{k: v for k, v in asdict(self).items() if k != "batch_size"},
                "mechanism": "DP-SGD (Opacus), Poisson sampling, add/remove-one neighbours"}


def _max_steps(sigma: float, q: float, delta: float, accountant: str, target: float,
               upper: int) -> int:
    """Largest k <= upper with ε(k) <= target (ε grows with k: bisection)."""
    if epsilon_spent(sigma, q, upper, delta, accountant) <= target:
        return upper
    lo, hi = 0, upper
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if epsilon_spent(sigma, q, mid, delta, accountant) <= target:
            lo = mid
        else:
            hi = mid
    return lo


def plan_delta(delta: float | None, n_records: int) -> float:
    """privacy.delta, or the default below 1/N; a delta at or above 1/N is refused."""
    delta = delta if delta is not None else default_delta(n_records)
    if delta >= 1.0 / n_records:
        raise UserError(f"privacy.delta={delta:g} must be below 1/N = {1.0 / n_records:.3g} "
                        f"(N = {n_records} training images); unset it for "
                        f"{default_delta(n_records):g}")
    return delta


def make_plan(cfg: RunConfig, n_records: int) -> PrivacyPlan:
    """The run's plan from cfg.privacy, train.batch_size (the expected Poisson batch) and
    train.steps; refuses a delta at or above 1/N."""
    p, t = cfg.privacy, cfg.train
    delta = plan_delta(p.delta, n_records)
    q = min(1.0, t.batch_size / n_records)
    if p.noise_multiplier is not None:
        sigma = float(p.noise_multiplier)
    else:
        from opacus.accountants.utils import get_noise_multiplier

        sigma = float(get_noise_multiplier(target_epsilon=p.target_epsilon, target_delta=delta,
                                           sample_rate=q, steps=t.steps,
                                           accountant=p.accountant))
    steps = _max_steps(sigma, q, delta, p.accountant, p.target_epsilon, t.steps)
    if steps < 1:
        raise UserError(f"privacy.noise_multiplier={sigma:g}: even one step spends more than "
                        f"privacy.target_epsilon={p.target_epsilon:g}; raise the noise or the "
                        "budget")
    return PrivacyPlan(n_records, t.batch_size, q, delta, sigma, p.max_grad_norm, p.accountant,
                       p.target_epsilon, steps)


def adopt_saved(plan: PrivacyPlan, saved: dict[str, Any] | None) -> PrivacyPlan:
    """On --resume: keep the noise the run started with, so ε stays one (σ, q, steps) history.
    A derived σ changes when train.steps does; the saved one is kept and the steps it affords
    recomputed. A changed sampling rate (batch size or data) cannot continue the accounting."""
    if not saved:
        return plan
    sigma, q = float(saved["noise_multiplier"]), float(saved["sample_rate"])
    if q != plan.sample_rate:
        raise UserError(f"resume=True: the sampling rate was {q:g} and would be "
                        f"{plan.sample_rate:g} now (train.batch_size or the data changed); the "
                        "privacy accounting cannot continue", field="resume")
    if sigma == plan.noise_multiplier:
        return plan
    log.info("privacy: --resume keeps the run's noise multiplier %.6g (now derived: %.6g)",
             sigma, plan.noise_multiplier)
    upper = max(plan.max_steps, 1)
    steps = _max_steps(sigma, q, plan.delta, plan.accountant, plan.target_epsilon,
                       max(upper, int(saved.get("max_steps", upper))))
    return replace(plan, noise_multiplier=sigma, max_steps=steps)


def plan_state(plan: PrivacyPlan) -> dict[str, Any]:
    """What a training state keeps of the plan (its σ and q), for adopt_saved."""
    return {"noise_multiplier": plan.noise_multiplier, "sample_rate": plan.sample_rate,
            "max_steps": plan.max_steps}


def check_supported(cfg: RunConfig, kind: str, world: int = 1) -> None:
    """Refuse, one line each, what DP-SGD cannot privatise here (before anything is built)."""
    g, a = cfg.gan, cfg.augment
    if kind not in PRIVATE_KINDS:
        raise UserError(f"privacy: models of kind {kind!r} cannot be trained privately yet "
                        f"(private kinds: {', '.join(PRIVATE_KINDS)})")
    if world > 1:
        raise UserError("privacy: DP training runs in one process (one Poisson sampler, one "
                        "accountant); start it without `accelerate launch`")
    if kind == "gan" and g.gp_weight:
        raise UserError("gan.gp_weight: a gradient penalty needs a double backward, which "
                        "per-sample gradients (Opacus GradSampleModule) do not support; set it to 0")
    if kind == "gan" and g.r1_gamma:
        raise UserError("gan.r1_gamma: the R1 penalty needs a double backward, which per-sample "
                        "gradients (Opacus GradSampleModule) do not support; set it to 0")
    if kind == "gan" and a.kind == "ada":
        raise UserError("augment.kind=ada: ADA tunes its probability from D's outputs on the "
                        "private images, outside the accountant; use diffaugment or none")
    if cfg.model.params.get("spectral_norm") or cfg.model.params.get("d_spectral_norm"):
        raise UserError("model.params.spectral_norm: spectral norm (a weight parametrization "
                        "with power iterations) is not supported under Opacus's "
                        "GradSampleModule; turn it off")
    if cfg.health.action == "rollback":
        raise UserError("health.action=rollback: a rollback retrains steps whose privacy cost "
                        "is already spent; use warn or stop under privacy")


def dp_ready(module: torch.nn.Module, what: str) -> torch.nn.Module:
    """The module made fit for per-sample gradients: BatchNorm (which mixes samples) replaced by
    GroupNorm, in-place activations made out-of-place (Opacus's hooks view their outputs);
    anything else Opacus cannot privatise is refused naming the layer."""
    from opacus.validators import ModuleValidator

    for name, m in module.named_modules():
        if "parametrizations" in name or type(m).__name__.startswith("Parametrized"):
            raise UserError(f"privacy: {what} layer {name!r} has a weight parametrization "
                            "(spectral norm), which Opacus's GradSampleModule does not support")
    _stock_convolutions(module)
    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules()):
        log.warning("privacy: %s's BatchNorm mixes the samples of a batch (no per-sample "
                    "gradients): replaced by GroupNorm", what)
        module = ModuleValidator.fix(module)
    for m in module.modules():
        if getattr(m, "inplace", False):
            m.inplace = False
    errors = ModuleValidator.validate(module, strict=False)
    if errors:
        raise UserError(f"privacy: {what} cannot be privatised by Opacus: {errors[0]}")
    return module


def _stock_convolutions(module: torch.nn.Module) -> None:
    """Swap subclasses of nn.Conv2d / nn.ConvTranspose2d (pixelforge.nn.gemm's CPU GEMM routes,
    whose autograd Functions Opacus's per-sample samplers cannot see through) for the stock
    layers, in place, keeping the weights and state-dict keys."""
    stock = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            base = next((b for b in stock if isinstance(child, b) and type(child) is not b), None)
            if base is None:
                continue
            kw = dict(stride=child.stride, padding=child.padding, dilation=child.dilation,
                      groups=child.groups, bias=child.bias is not None)
            if base is torch.nn.ConvTranspose2d:
                kw["output_padding"] = child.output_padding
            new = base(child.in_channels, child.out_channels, child.kernel_size, **kw)
            new.load_state_dict(child.state_dict())
            setattr(parent, name, new.to(child.weight.device))


def check_resume(ckpt: Path, cfg: RunConfig) -> None:
    """--resume continues a DP run only with the very privacy section it started with."""
    from pixelforge.rundir import META_FILE

    meta_file = ckpt / META_FILE
    if not meta_file.is_file():
        return
    saved = (json.loads(meta_file.read_text()).get("config") or {}).get("privacy")
    now = cfg.privacy.model_dump(mode="json") if cfg.privacy is not None else None
    if saved == now:
        return
    if saved is None or now is None:
        was = "without" if saved is None else "with"
        raise UserError(f"resume=True: privacy: the run was trained {was} a privacy section and "
                        f"this resume {'adds' if saved is None else 'drops'} it ({meta_file})",
                        field="resume")
    key = next(k for k in now if saved.get(k) != now[k])
    raise UserError(f"resume=True: privacy.{key} is {saved.get(key)!r} in the saved run but "
                    f"{now[key]!r} now; a DP run resumes only with its own privacy section",
                    field="resume")


def cap_steps(cfg: RunConfig, plan: PrivacyPlan) -> RunConfig:
    """train.steps lowered to what the budget affords (a given noise_multiplier may afford
    fewer); training then stops before ε would pass target_epsilon."""
    if plan.max_steps >= cfg.train.steps:
        return cfg
    log.warning("privacy: privacy.noise_multiplier=%g affords %d steps within "
                "target_epsilon=%g; training stops there instead of at train.steps=%d",
                plan.noise_multiplier, plan.max_steps, plan.target_epsilon, cfg.train.steps)
    cfg = cfg.model_copy(deep=True)
    cfg.train.steps = plan.max_steps
    return cfg


def poisson_batches(dataset, q: float, seed: int, start_step: int
                    ) -> Iterator[dict[str, torch.Tensor]]:
    """Endless Poisson-sampled batches: each record joins step s's batch with probability q, a
    pure function of (seed, s), so resuming is exact. Batches vary in size and may be empty."""
    from pixelforge.core.images import to_float

    n = len(dataset)
    pre = dataset.tensors()
    if isinstance(pre, tuple):
        pre = {"image": pre[0], "label": pre[1]}
    step = start_step
    while True:
        g = step_generator(seed, step, 0, POISSON_STREAM)
        idx = (torch.rand(n, generator=g) < q).nonzero().squeeze(1)  # [B_s]
        if pre is not None:
            yield {k: to_float(v[idx]) if v.dtype == torch.uint8 else v[idx]
                   for k, v in pre.items()}
        else:
            yield _collate(dataset, idx)
        step += 1


def _collate(dataset, idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Stack items of a lazily loaded dataset (an empty batch keeps the item shapes)."""
    def named(item) -> dict[str, torch.Tensor]:
        if isinstance(item, dict):
            return {k: torch.as_tensor(v) for k, v in item.items()}
        return {"image": item[0], "label": torch.tensor(int(item[1]))}

    items = [named(dataset[int(i)]) for i in idx]
    if not items:
        return {k: v.unsqueeze(0)[:0] for k, v in named(dataset[0]).items()}
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def stamp_checkpoint(folder: Path, record: dict[str, Any]) -> None:
    """Add the privacy record to a checkpoint's model_index.json (meta.json gets it too)."""
    from pixelforge.checkpoint import INDEX_FILE, atomic_write_text

    index_file = folder / INDEX_FILE
    index = json.loads(index_file.read_text())
    index["privacy"] = record
    atomic_write_text(index_file, json.dumps(index, indent=2) + "\n")
