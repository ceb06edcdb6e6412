"""Adversarial training (Goodfellow et al. 2014): D (critic) updates every step, G every
n_critic-th, through one Adversary (losses by name, GP/R1/clipping, label smoothing,
DiffAugment/ADA, AC-GAN labels) and an EMA of G with StyleGAN2's ramp-up."""

from __future__ import annotations

import logging
from typing import Any

import torch

from pixelforge.errors import UserError
from pixelforge.losses.regularizers import mode_seeking, paired_halves
from pixelforge.models.base import Generator
from pixelforge.nn.gemm import shared_weight_casts
from pixelforge.pipelines.sampling import generate_images
from pixelforge.training.adversary import Adversary, grad_norm
from pixelforge.training.ema import EMA
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.sampler import global_randn
from pixelforge.training.task import Task, cpu_copy

log = logging.getLogger("pixelforge.train")
NOISE, AUGMENT, PENALTY = 0, 1, 2  # independent random streams of one step (sampler.step_generator)


class GANTask(Task):
    """D step on real vs G(z).detach() every step; G step through a frozen D every n_critic steps;
    EMA of G after each G step. One train_step consumes one batch {"image", "label"}."""

    health_loss_key = "loss_d"

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t, device, precision = cfg.model, cfg.train, self.device, self.precision
        self.k = self._conditional_classes()
        shape = dict(image_size=m.image_size, channels=m.channels, latent_dim=m.latent_dim,
                     **({"num_classes": self.k} if self.k else {}), **m.params)
        torch.manual_seed(t.seed)  # weight init is reproducible
        fmt = precision.memory_format
        self.G: Generator = family.build("generator", **shape).to(device, memory_format=fmt)
        D = family.build("discriminator", **shape).to(device, memory_format=fmt)
        if m.params.get("aux_classifier", False) and not self.k:
            raise UserError("model.params.aux_classifier: AC-GAN needs model.conditional: true")
        self.ema = EMA(self.G, decay=t.ema_decay, rampup=t.ema_rampup)
        self.opt_g = adam(self.G.parameters(), t.lr_g, t.betas)
        self.adversary = Adversary(D, cfg, device=device, precision=precision,
                                   num_images=self.num_images, streams=(AUGMENT, PENALTY))
        self.g_step = self.G  # possibly DDP-wrapped
        self.last_g: dict[str, torch.Tensor] = {}  # G's logs from its last step (n_critic > 1)

    def _conditional_classes(self) -> int:
        m = self.cfg.model
        if not m.conditional:
            return 0
        if self.num_classes < 2:
            raise UserError(f"model.conditional: the data {self.cfg.data.path!r} has no class "
                            "labels (use a class-per-folder image folder or an .npz with y_* "
                            "labels)")
        if "num_classes" not in self.family.options("generator"):
            from pixelforge.models import MODELS

            conditional = [n for n in MODELS.names() if MODELS.get(n).kind == "gan"
                           and "num_classes" in MODELS.get(n).options("generator")]
            raise UserError(f"model.conditional: {m.name!r} has no class-conditional variant; "
                            f"conditional GAN models: {', '.join(conditional)}")
        return self.num_classes

    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        self.g_step, self.opt_g = accelerator.prepare(self.G, self.opt_g)
        self.adversary.prepare(accelerator)

    def train_step(self, batch, step):
        t, g = self.cfg.train, self.cfg.gan
        real = batch["image"]
        y = batch["label"].long() if self.k else None  # fakes get the real batch's classes
        # ... paired for the mode-seeking term: rows i and i + N/2 of the fakes share a class
        y_fake = self.fake_labels(y)
        cond, fcond = ((y,), (y_fake,)) if self.k else ((), ())
        z = global_randn(real.shape[0], self.G.latent_dim, seed=t.seed, step=step, rank=self.rank,
                         world=self.world, stream=NOISE).to(self.device)
        with self.precision.autocast(self.device), shared_weight_casts():
            fake = self.g_step(z, *fcond)  # [N, C, H, W]
        logs = self.adversary.d_step(real, fake, cond, step=step, labels=y, fake_cond=fcond,
                                     fake_labels=y_fake)
        if (step + 1) % t.n_critic == 0:
            with self.adversary.frozen():  # no wasted D weight grads, no DDP sync
                loss_g = self.g_loss(fake, z, fcond, step=step, labels=y_fake)
                self.opt_g.zero_grad(set_to_none=True)
                self.backward(loss_g)
            self.last_g = {"loss_g": loss_g.detach()}
            if g.grad_clip or (step + 1) % t.log_every == 0:
                self.last_g["grad_norm_g"] = grad_norm(self.G.parameters(), g.grad_clip)
            self.opt_g.step()
            batch_images = real.shape[0] * self.world * t.n_critic  # images per EMA update
            self.ema.update(self.G, images_seen=(step + 1) * real.shape[0] * self.world,
                            batch=batch_images, average=step >= t.ema_start)
            self.last_g["ema_decay"] = torch.tensor(self.ema.last_decay)
        return {**logs, **self.last_g}

    def fake_labels(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """The classes G draws for: as given, or paired (rows i and i + N/2 share one) for the
        mode-seeking term."""
        return paired_halves(labels) if self.cfg.gan.mode_seeking else labels

    def g_loss(self, fake: torch.Tensor, z: torch.Tensor, cond: tuple, *, step: int,
               labels: torch.Tensor | None) -> torch.Tensor:
        """G's loss: adversarial (+ AC-GAN class) through D, plus gan.mode_seeking x MSGAN's
        term (G-side only, so it costs no privacy under DP)."""
        loss = self.adversary.g_loss(fake, cond, step=step, labels=labels)
        if self.cfg.gan.mode_seeking:
            loss = loss + self.cfg.gan.mode_seeking * mode_seeking(fake, z)
        return loss

    def components(self) -> dict[str, Generator]:
        return {"generator": cpu_copy(self.ema.module)}

    @torch.no_grad()
    def preview(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        return {"samples": generate_images(self.ema.module, n, seed=seed)}

    @torch.no_grad()
    def health_images(self, n: int, seed: int) -> torch.Tensor:
        """Samples of the raw G (the EMA lags collapse by hundreds of steps), in its own layout and
        precision, without touching any RNG the training step uses. A conditional G's are all of
        one class (the first): a G that makes one image per class looks varied across classes
        (0.83 of the real spread on such a MNIST run) but not within one (0.059;
        benchmarks/class_spread.py)."""
        z = torch.randn(n, self.G.latent_dim, generator=torch.Generator().manual_seed(seed))
        y = torch.zeros(n, dtype=torch.long)
        was_training = self.G.training
        self.G.eval()
        with self.precision.autocast(self.device):
            x = self.G(z.to(self.device), y.to(self.device)) if self.k else self.G(z.to(self.device))
        self.G.train(was_training)
        return x.float()

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_g, self.adversary.opt]

    def state_dict(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "ema": self.ema.state_dict(),
                "opt_g": self.opt_g.state_dict(), "last_g": dict(self.last_g),
                **self.adversary.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        align_state_layout(self.opt_g)
        self.last_g = dict(state.get("last_g", {}))
        self.adversary.load_state_dict(state)
