"""Adversarial training step: D (critic) updates every step, G every n_critic-th, with the stable-GAN
toolbox (losses by name, GP/R1/clipping, label smoothing, DiffAugment/ADA, conditional labels)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from pixelforge.augment import build_augment
from pixelforge.errors import UserError
from pixelforge.losses import GAN_LOSSES, clip_weights_, gradient_penalty, r1_penalty
from pixelforge.models.base import Generator
from pixelforge.models.dcgan import shared_weight_casts
from pixelforge.training.optim import align_state_layout
from pixelforge.training.precision import tune_cpu_allocator
from pixelforge.training.sampler import step_generator
from pixelforge.training.task import TASKS, Task

log = logging.getLogger("pixelforge.train")
TUNE_ALLOCATOR = True  # keep freed memory in-process on CPU (False: A/B switch for benchmarks)
NOISE, AUGMENT, PENALTY = 0, 1, 2  # independent random streams of one step (sampler.step_generator)


def _adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    # fused Adam exists for CPU and CUDA in recent PyTorch: one kernel per step instead of many
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def _split(out) -> tuple[torch.Tensor, torch.Tensor | None]:
    """D output -> (logits [N], class logits [N, K] or None); AC-GAN discriminators return both."""
    return out if isinstance(out, tuple) else (out, None)


def _grad_norm(params, max_norm: float | None) -> torch.Tensor:
    """Total gradient L2 norm, clipping to max_norm when given (one foreach pass either way)."""
    grads = [p for p in params if p.grad is not None]
    return torch.nn.utils.clip_grad_norm_(grads, max_norm if max_norm else float("inf"), foreach=True)


@TASKS.register("gan")
class GANTask(Task):
    """D step on real vs G(z).detach() every step; G step through a frozen D every n_critic steps;
    EMA of G after each G step. One train_step consumes one real batch."""

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t, device, precision = cfg.model, cfg.train, self.device, self.precision
        self.k = self._conditional_classes()
        shape = dict(image_size=m.image_size, channels=m.channels, latent_dim=m.latent_dim,
                     **({"num_classes": self.k} if self.k else {}), **m.params)
        if device.type == "cpu" and TUNE_ALLOCATOR:
            tune_cpu_allocator()  # no page faults on re-allocated activations (precision.py)
        torch.manual_seed(t.seed)  # weight init is reproducible
        fmt = precision.memory_format
        self.G: Generator = family.build("generator", **shape).to(device, memory_format=fmt)
        self.D: nn.Module = family.build("discriminator", **shape).to(device, memory_format=fmt)
        self.aux = bool(m.params.get("aux_classifier", False))
        if self.aux and not self.k:
            raise UserError("model.params.aux_classifier: AC-GAN needs model.conditional: true")
        self.ema = AveragedModel(self.G, multi_avg_fn=get_ema_multi_avg_fn(t.ema_decay),
                                 use_buffers=True)
        self.opt_g = _adam(self.G.parameters(), t.lr_g, t.betas)
        self.opt_d = _adam(self.D.parameters(), t.lr_d, t.betas)
        self.loss = GAN_LOSSES.get(t.loss)(label_smoothing=cfg.gan.label_smoothing)
        self.augment, self.ada, _ = build_augment(cfg.augment, self.num_images, log)
        self._check_lipschitz()
        self.g_step, self.d_step = self.G, self.D  # possibly DDP-wrapped
        self.accelerator = None
        self.last_g: dict[str, torch.Tensor] = {}  # G's logs from its last step (n_critic > 1)
        self._fast_ema = True  # False: AveragedModel.update_parameters (A/B switch for benchmarks)

    def _conditional_classes(self) -> int:
        m = self.cfg.model
        if not m.conditional:
            return 0
        if self.num_classes < 2:
            raise UserError(f"model.conditional: the data {self.cfg.data.path!r} has no class labels "
                            "(use a class-per-folder image folder or an .npz with y_* labels)")
        if "num_classes" not in self.family.options("generator"):
            from pixelforge.models import MODELS

            conditional = [n for n in MODELS.names() if MODELS.get(n).kind == "gan"
                           and "num_classes" in MODELS.get(n).options("generator")]
            raise UserError(f"model.conditional: {m.name!r} has no class-conditional variant; "
                            f"conditional GAN models: {', '.join(conditional)}")
        return self.num_classes

    def _check_lipschitz(self) -> None:
        g = self.cfg.gan
        sn = bool(self.cfg.model.params.get("spectral_norm", False)) or any(
            "parametrizations" in name for name, _ in self.D.named_modules())
        if not self.loss.bounded_logits and not (g.gp_weight or g.clip_weights or g.r1_gamma or sn):
            log.warning("train.loss=wasserstein without a Lipschitz constraint on the critic: set "
                        "gan.gp_weight (WGAN-GP), gan.clip_weights (WGAN) or spectral norm")

    def prepare(self, accelerator) -> None:
        self.accelerator = accelerator
        self.g_step, self.d_step, self.opt_g, self.opt_d = accelerator.prepare(
            self.G, self.D, self.opt_g, self.opt_d)

    def _backward(self, loss: torch.Tensor) -> None:
        if self.accelerator is not None:
            self.accelerator.backward(loss)
        else:
            loss.backward()

    def _aug(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return self.augment(x, generator=gen) if self.augment is not None else x

    def _class_loss(self, class_logits: torch.Tensor | None, y: torch.Tensor | None) -> torch.Tensor | float:
        if class_logits is None or y is None:
            return 0.0
        return self.cfg.gan.ac_weight * F.cross_entropy(class_logits.float(), y)

    def train_step(self, real, labels, step):
        t, g = self.cfg.train, self.cfg.gan
        rank = self.accelerator.process_index if self.accelerator else 0
        y = labels.long() if self.k else None  # fakes get the real batch's classes
        z = torch.randn(real.shape[0], self.G.latent_dim,
                        generator=step_generator(t.seed, step, rank, NOISE)).to(self.device)
        aug_gen = step_generator(t.seed, step, rank, AUGMENT)
        lazy_r1 = g.r1_gamma > 0 and step % g.r1_every == 0
        cond = (y,) if self.k else ()
        # --- D (critic) step ---
        with self.precision.autocast(self.device), shared_weight_casts():
            fake = self.g_step(z, *cond)  # [N, C, H, W]
            real_in = self._aug(real, aug_gen)
            d_real, c_real = _split(self.d_step(real_in, *cond))
            fake_in = self._aug(fake.detach(), aug_gen)
            d_fake, c_fake = _split(self.d_step(fake_in, *cond))
            loss_d = self.loss.d_loss(d_real, d_fake)
            loss_d = loss_d + self._class_loss(c_real, y) + self._class_loss(c_fake, y)
            logs = {"loss_d": loss_d.detach()}

            def critic(x: torch.Tensor) -> torch.Tensor:
                return _split(self.d_step(x, *cond))[0]

            if g.gp_weight:
                gp = gradient_penalty(critic, real_in, fake_in,  # between the images D just saw
                                      generator=step_generator(t.seed, step, rank, PENALTY))
                loss_d = loss_d + g.gp_weight * gp
                logs["gp"] = gp.detach()
            if lazy_r1:
                r1 = r1_penalty(critic, real_in)
                loss_d = loss_d + 0.5 * g.r1_gamma * g.r1_every * r1
                logs["r1"] = r1.detach()
        self.opt_d.zero_grad(set_to_none=True)
        self._backward(loss_d)
        log_step = (step + 1) % t.log_every == 0
        if g.grad_clip or log_step:
            logs["grad_norm_d"] = _grad_norm(self.D.parameters(), g.grad_clip)
        self.opt_d.step()
        if g.clip_weights:
            clip_weights_(self.D, g.clip_weights)
        if self.ada is not None:
            self.ada.observe(d_real.detach().float() - (self.loss.decision_threshold or 0.0))
            self.augment.p = self.ada.p
            logs["augment_p"] = torch.tensor(self.ada.p)
        logs.update(self._d_stats(d_real.detach(), d_fake.detach()))
        # --- G step: through the raw D with frozen weights (no wasted weight grads, no DDP sync) ---
        if (step + 1) % t.n_critic == 0:
            self.D.requires_grad_(False)
            with self.precision.autocast(self.device):
                out, c_out = _split(self.D(self._aug(fake, aug_gen), *cond))
                loss_g = self.loss.g_loss(out) + self._class_loss(c_out, y)
            self.opt_g.zero_grad(set_to_none=True)
            self._backward(loss_g)
            self.last_g = {"loss_g": loss_g.detach()}
            if g.grad_clip or log_step:
                self.last_g["grad_norm_g"] = _grad_norm(self.G.parameters(), g.grad_clip)
            self.opt_g.step()
            self.D.requires_grad_(True)
            self._update_ema(average=step >= t.ema_start)
        return {**logs, **self.last_g}

    def _d_stats(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """D's accuracy on real and fake (at the loss's decision threshold); mean critic scores for
        Wasserstein critics, whose sign means nothing."""
        thr = self.loss.decision_threshold
        if thr is None:
            return {"d_real": d_real.float().mean(), "d_fake": d_fake.float().mean()}
        return {"d_acc_real": (d_real > thr).float().mean(), "d_acc_fake": (d_fake < thr).float().mean()}

    @torch.no_grad()
    def _update_ema(self, average: bool) -> None:
        """EMA of G's parameters and buffers, the maths of AveragedModel.update_parameters with
        get_ema_multi_avg_fn (a copy on the first update, then ema.lerp_(g, 1 - decay)) without its
        per-step regrouping; before ema_start the EMA just tracks G (and n_averaged stays 0)."""
        if average and not self._fast_ema:
            self.ema.update_parameters(self.G)
            return
        ema = [*self.ema.module.parameters(), *self.ema.module.buffers()]
        src = [t.detach() for t in (*self.G.parameters(), *self.G.buffers())]
        if not average or int(self.ema.n_averaged) == 0:
            torch._foreach_copy_(ema, src)
        else:
            decay = self.cfg.train.ema_decay
            floats = [i for i, e in enumerate(ema) if e.is_floating_point()]
            torch._foreach_lerp_([ema[i] for i in floats], [src[i] for i in floats], 1 - decay)
            for e, g in zip(ema, src, strict=True):
                if not e.is_floating_point():  # BatchNorm's num_batches_tracked
                    e.copy_(e * decay + g * (1 - decay))
        if average:
            self.ema.n_averaged += 1

    def export_module(self) -> Generator:
        g = copy.deepcopy(self.ema.module).to("cpu", memory_format=torch.contiguous_format)
        return g.eval()

    @torch.no_grad()
    def sample_images(self, n: int, seed: int) -> torch.Tensor:
        return self.ema.module.generate(n, seed=seed)

    @torch.no_grad()
    def health_images(self, n: int, seed: int) -> torch.Tensor:
        """Samples of the raw G (the EMA lags collapse by hundreds of steps), in its own layout and
        precision, without touching any RNG the training step uses."""
        z = torch.randn(n, self.G.latent_dim, generator=torch.Generator().manual_seed(seed))
        y = self.G.default_labels(n)
        was_training = self.G.training
        self.G.eval()
        with self.precision.autocast(self.device):
            x = self.G(z.to(self.device), y.to(self.device)) if self.k else self.G(z.to(self.device))
        self.G.train(was_training)
        return x.float()

    def train_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_g, self.opt_d]

    def state_dict(self) -> dict[str, Any]:
        state = {"G": self.G.state_dict(), "D": self.D.state_dict(), "ema": self.ema.state_dict(),
                 "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                 "last_g": dict(self.last_g)}
        if self.ada is not None:
            state["ada"] = self.ada.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        align_state_layout(self.opt_g)
        align_state_layout(self.opt_d)
        self.last_g = dict(state.get("last_g", {}))
        if self.ada is not None and "ada" in state:
            self.ada.load_state_dict(state["ada"])
            self.augment.p = self.ada.p

