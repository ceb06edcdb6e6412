"""One adversary: a discriminator with its optimizer, loss, regularizers (WGAN-GP, R1, clipping,
gradient clipping), augmentation of its inputs (DiffAugment, ADA) and statistics. Tasks compose
one or more of them: the GAN task has one, the VAE-GAN task one, a CycleGAN-like task two."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.augment import build_augment
from pixelforge.config import RunConfig
from pixelforge.core.precision import Precision
from pixelforge.losses import GAN_LOSSES, clip_weights_, gradient_penalty, r1_penalty
from pixelforge.nn.gemm import shared_weight_casts
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.sampler import step_generator

log = logging.getLogger("pixelforge.train")


def split_logits(out) -> tuple[torch.Tensor, torch.Tensor | None]:
    """D output -> (logits [N], class logits [N, K] or None); AC-GAN discriminators return both."""
    return out if isinstance(out, tuple) else (out, None)


def grad_norm(params, max_norm: float | None) -> torch.Tensor:
    """Total gradient L2 norm, clipping to max_norm when given (one foreach pass either way)."""
    grads = [p for p in params if p.grad is not None]
    return torch.nn.utils.clip_grad_norm_(grads, max_norm if max_norm else float("inf"),
                                          foreach=True)


class Adversary:
    """D, its Adam (train.lr_d, train.betas), train.loss, the gan.* regularizers and augment.*.

    `streams` are the two step_generator stream ids (augmentation, penalty sampling) this adversary
    draws from, so every step's randomness is addressed by (seed, step, rank, stream) and resume
    is exact. `augment=False` leaves D's inputs as they are whatever augment.* says (for tasks
    whose other losses compare D features of un-augmented images). `d_step` updates D; `g_loss`
    is the generator's loss through the frozen D."""

    def __init__(self, D: nn.Module, cfg: RunConfig, *, device: torch.device,
                 precision: Precision, num_images: int, streams: tuple[int, int] = (1, 2),
                 augment: bool = True, name: str = "d") -> None:
        t, g = cfg.train, cfg.gan
        self.D, self.cfg, self.device, self.precision = D, cfg, device, precision
        self.streams, self.name = streams, name  # the name tells a task's adversaries apart
        self.opt = adam(D.parameters(), t.lr_d, t.betas)
        self.loss = GAN_LOSSES.get(t.loss)(label_smoothing=g.label_smoothing)
        self.augment, self.ada = None, None
        if augment:
            self.augment, self.ada, _ = build_augment(cfg.augment, num_images, log,
                                                      channels=cfg.model.channels, steps=t.steps,
                                                      time_budget=t.time_budget)
        self.d_ddp: nn.Module = D  # DDP-wrapped after prepare()
        self.accelerator: Any = None
        self.rank = 0
        self._aug_key: tuple[int, int] | None = None
        self._aug_gen: torch.Generator | None = None
        self._check_lipschitz()

    def _check_lipschitz(self) -> None:
        g = self.cfg.gan
        sn = bool(self.cfg.model.params.get("spectral_norm", False)) or any(
            "parametrizations" in name for name, _ in self.D.named_modules())
        if not self.loss.bounded_logits and not (g.gp_weight or g.clip_weights or g.r1_gamma or sn):
            log.warning("train.loss=wasserstein without a Lipschitz constraint on the critic: set "
                        "gan.gp_weight (WGAN-GP), gan.clip_weights (WGAN) or spectral norm")

    def prepare(self, accelerator) -> None:
        """DDP for D's step under `accelerate launch` (the same path for every task)."""
        self.accelerator, self.rank = accelerator, accelerator.process_index
        self.d_ddp, self.opt = accelerator.prepare(self.D, self.opt)

    # -- pieces ------------------------------------------------------------------------------
    def _gen(self, step: int) -> torch.Generator:
        """The step's augmentation RNG, shared by D's and G's calls of that step."""
        if self._aug_key != (step, self.rank):
            self._aug_key = (step, self.rank)
            self._aug_gen = step_generator(self.cfg.train.seed, step, self.rank, self.streams[0])
        return self._aug_gen

    def augmented(self, x: torch.Tensor, step: int) -> torch.Tensor:
        return self.augment(x, generator=self._gen(step)) if self.augment is not None else x

    def _class_loss(self, logits: torch.Tensor | None, y: torch.Tensor | None):
        if logits is None or y is None:
            return 0.0
        return self.cfg.gan.ac_weight * F.cross_entropy(logits.float(), y)

    def _backward(self, loss: torch.Tensor) -> None:
        if self.accelerator is not None:
            self.accelerator.backward(loss)
        else:
            loss.backward()

    # -- the two calls a task makes ----------------------------------------------------------
    def d_step(self, real: torch.Tensor, fakes: torch.Tensor | Sequence[torch.Tensor],
               cond: tuple = (), *, step: int, labels: torch.Tensor | None = None,
               fake_cond: tuple | None = None, fake_labels: torch.Tensor | None = None,
               ) -> dict[str, torch.Tensor]:
        """One D update on `real` against one or several fake batches (the loss is their mean);
        `cond` are extra D inputs (class labels), `labels` the AC-GAN class targets; the fakes'
        own (`fake_cond`, `fake_labels`) when they were made for other classes than the real
        batch's (None: the real batch's)."""
        t, g = self.cfg.train, self.cfg.gan
        fakes = [fakes] if isinstance(fakes, torch.Tensor) else list(fakes)
        fake_cond = cond if fake_cond is None else fake_cond
        fake_labels = labels if fake_labels is None else fake_labels
        lazy_r1 = g.r1_gamma > 0 and step % g.r1_every == 0
        with self.precision.autocast(self.device), shared_weight_casts():
            real_in = self.augmented(real, step)
            d_real, c_real = split_logits(self.d_ddp(real_in, *cond))
            terms, d_fakes, fake_ins = [], [], []
            for fake in fakes:
                fake_in = self.augmented(fake.detach(), step)
                d_fake, c_fake = split_logits(self.d_ddp(fake_in, *fake_cond))
                terms.append(self.loss.d_loss(d_real, d_fake)
                             + self._class_loss(c_fake, fake_labels))
                d_fakes.append(d_fake.detach())
                fake_ins.append(fake_in)
            loss_d = terms[0] if len(terms) == 1 else sum(terms) / len(terms)
            loss_d = loss_d + self._class_loss(c_real, labels)
            logs = {"loss_d": loss_d.detach()}

            def critic(x: torch.Tensor) -> torch.Tensor:
                return split_logits(self.d_ddp(x, *cond))[0]

            if g.gp_weight:
                gp = gradient_penalty(critic, real_in, fake_ins[0],  # between images D just saw
                                      generator=step_generator(t.seed, step, self.rank,
                                                               self.streams[1]))
                loss_d = loss_d + g.gp_weight * gp
                logs["gp"] = gp.detach()
            if lazy_r1:
                r1 = r1_penalty(critic, real_in)
                loss_d = loss_d + 0.5 * g.r1_gamma * g.r1_every * r1
                logs["r1"] = r1.detach()
        self.opt.zero_grad(set_to_none=True)
        self._backward(loss_d)
        if g.grad_clip or (step + 1) % t.log_every == 0:
            logs["grad_norm_d"] = grad_norm(self.D.parameters(), g.grad_clip)
        self.opt.step()
        if g.clip_weights:
            clip_weights_(self.D, g.clip_weights)
        if self.ada is not None:
            self.ada.observe(d_real.detach().float() - (self.loss.decision_threshold or 0.0))
            self.augment.p = self.ada.p
            logs["augment_p"] = torch.tensor(self.ada.p)
        logs.update(self.stats(d_real.detach(), torch.cat(d_fakes)))
        return logs

    def g_loss(self, fake: torch.Tensor, cond: tuple = (), *, step: int,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's adversarial (+ AC-GAN class) loss through the raw D. Call it between
        `frozen()` and the G backward, so D gets no weight gradients and DDP no sync."""
        with self.precision.autocast(self.device):
            out, c_out = split_logits(self.D(self.augmented(fake, step), *cond))
            return self.loss.g_loss(out) + self._class_loss(c_out, labels)

    def frozen(self) -> _Frozen:
        """Context in which D's weights take no gradient (the G step)."""
        return _Frozen(self.D)

    def stats(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """D's accuracy on real and fake (at the loss's decision threshold); mean critic scores for
        Wasserstein critics, whose sign means nothing."""
        thr = self.loss.decision_threshold
        if thr is None:
            return {"d_real": d_real.float().mean(), "d_fake": d_fake.float().mean()}
        return {"d_acc_real": (d_real > thr).float().mean(),
                "d_acc_fake": (d_fake < thr).float().mean()}

    # -- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {"D": self.D.state_dict(), "opt_d": self.opt.state_dict()}
        if self.ada is not None:
            state["ada"] = self.ada.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.D.load_state_dict(state["D"])
        self.opt.load_state_dict(state["opt_d"])
        align_state_layout(self.opt)
        if self.ada is not None and "ada" in state:
            self.ada.load_state_dict(state["ada"])
            self.augment.p = self.ada.p


class _Frozen:
    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def __enter__(self) -> nn.Module:
        self.module.requires_grad_(False)
        return self.module

    def __exit__(self, *exc) -> None:
        self.module.requires_grad_(True)
