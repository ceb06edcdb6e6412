"""Adversarial training step (Goodfellow et al. 2014; DCGAN recipe): alternating D and G updates."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from pixelforge.losses import GAN_LOSSES
from pixelforge.models.base import Generator
from pixelforge.models.dcgan import shared_weight_casts
from pixelforge.training.optim import align_state_layout
from pixelforge.training.precision import tune_cpu_allocator
from pixelforge.training.sampler import step_generator
from pixelforge.training.task import TASKS, Task

TUNE_ALLOCATOR = True  # keep freed memory in-process on CPU (False: A/B switch for benchmarks)


def _adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    # fused Adam exists for CPU and CUDA in recent PyTorch: one kernel per step instead of many
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


@TASKS.register("gan")
class GANTask(Task):
    """D step on real vs G(z).detach(), then G step through a frozen D; EMA of G after each step."""

    def __init__(self, cfg, family, *, num_classes, device, precision) -> None:
        super().__init__(cfg, family, num_classes=num_classes, device=device, precision=precision)
        m, t = cfg.model, cfg.train
        shape = dict(image_size=m.image_size, channels=m.channels, latent_dim=m.latent_dim,
                     **m.params)
        if device.type == "cpu" and TUNE_ALLOCATOR:
            tune_cpu_allocator()  # no page faults on re-allocated activations (precision.py)
        torch.manual_seed(t.seed)  # weight init is reproducible
        fmt = precision.memory_format
        self.G: Generator = family.build("generator", **shape).to(device, memory_format=fmt)
        self.D: nn.Module = family.build("discriminator", **shape).to(device, memory_format=fmt)
        self.ema = AveragedModel(self.G, multi_avg_fn=get_ema_multi_avg_fn(t.ema_decay),
                                 use_buffers=True)
        self.opt_g = _adam(self.G.parameters(), t.lr_g, t.betas)
        self.opt_d = _adam(self.D.parameters(), t.lr_d, t.betas)
        self.loss = GAN_LOSSES.get(t.loss)()
        self.g_step, self.d_step = self.G, self.D  # possibly DDP-wrapped
        self.accelerator = None
        self._fast_ema = True  # False: AveragedModel.update_parameters (A/B switch for benchmarks)

    def prepare(self, accelerator) -> None:
        self.accelerator = accelerator
        self.g_step, self.d_step, self.opt_g, self.opt_d = accelerator.prepare(
            self.G, self.D, self.opt_g, self.opt_d)

    def _backward(self, loss: torch.Tensor) -> None:
        if self.accelerator is not None:
            self.accelerator.backward(loss)
        else:
            loss.backward()

    def train_step(self, real, labels, step):
        t = self.cfg.train
        rank = self.accelerator.process_index if self.accelerator else 0
        z = torch.randn(real.shape[0], self.G.latent_dim,
                        generator=step_generator(t.seed, step, rank)).to(self.device)
        # --- D: maximise log D(x) + log(1 - D(G(z))) ---
        with self.precision.autocast(self.device), shared_weight_casts():
            fake = self.g_step(z)  # [N, C, H, W]
            d_real = self.d_step(real)
            d_fake = self.d_step(fake.detach())
            loss_d = self.loss.d_loss(d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        self._backward(loss_d)
        self.opt_d.step()
        # --- G: through the raw D with frozen weights (no wasted weight grads, no DDP sync) ---
        self.D.requires_grad_(False)
        with self.precision.autocast(self.device):
            loss_g = self.loss.g_loss(self.D(fake))
        self.opt_g.zero_grad(set_to_none=True)
        self._backward(loss_g)
        self.opt_g.step()
        self.D.requires_grad_(True)
        self._update_ema(average=step >= t.ema_start)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": torch.sigmoid(d_real.detach().float()).mean(),
                "d_fake": torch.sigmoid(d_fake.detach().float()).mean()}

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

    def train_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D}

    def state_dict(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "ema": self.ema.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        align_state_layout(self.opt_g)
        align_state_layout(self.opt_d)
