"""VAE training: reparameterised ELBO (Kingma & Welling 2014), VAE-GAN (Larsen et al. 2016)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pixelforge.core.images import grid_rows
from pixelforge.losses.vae import gaussian_kl, kl_weight, reparameterize
from pixelforge.models.vae import VAE
from pixelforge.pipelines.sampling import generate_images
from pixelforge.training.adversary import Adversary
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.sampler import global_randn, step_generator
from pixelforge.training.task import Task, cpu_copy

# step_generator streams: one independent RNG per use, so resuming at any step is exact
BINARIZE, EPS, PRIOR, AUGMENT, PENALTY = 1, 2, 3, 4, 5


def dynamic_binarize(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each pixel -> +1 with probability (x + 1) / 2, else -1 (Salakhutdinov & Murray 2008)."""
    p = ((images.float().cpu() + 1.0) * 0.5).clamp_(0.0, 1.0)
    return (torch.bernoulli(p, generator=generator) * 2.0 - 1.0).to(images.device, images.dtype)


class _Forward(nn.Module):
    """The VAE's whole forward pass of one step as one module call, so DDP (which syncs gradients
    of what its forward ran) wraps it: (decoder output, recon NLL [N], KL [N], prior samples)."""

    def __init__(self, model: VAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None, eps: torch.Tensor,
                z_prior: torch.Tensor | None = None):
        mu, logvar = self.model.encode(x, cond)  # [N, Z] each
        z = reparameterize(mu, logvar, eps.to(mu.dtype))  # [N, Z]
        out = self.model.decode_raw(z, cond)  # [N, C, H, W]
        prior = self.model.decode(z_prior, cond) if z_prior is not None else None
        return out, self.model.recon_nll(out, x), gaussian_kl(mu, logvar), prior


class VAETask(Task):
    """Minimise E_q[-log p(x|z)] + beta_t * KL(q(z|x) || p(z)) with one Adam (lr_g, betas)."""

    health_loss_key = None

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t = cfg.model, cfg.train
        params = {"num_classes": self.num_classes, **m.params}  # only conditional families take it
        self.shape = dict(image_size=m.image_size, channels=m.channels, latent_dim=m.latent_dim,
                          **params)
        torch.manual_seed(t.seed)  # weight init is reproducible
        self.model: VAE = family.build("generator", **self.shape).to(
            self.device, memory_format=self.precision.memory_format)
        self.opt = adam(self.model.parameters(), t.lr_g, t.betas)
        self.forward_net: nn.Module = _Forward(self.model)  # DDP-wrapped after prepare()
        self.preview_batch: torch.Tensor | None = None  # fixed batch for reconstruction grids
        self.preview_labels: torch.Tensor | None = None

    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        self.forward_net, self.opt = accelerator.prepare(self.forward_net, self.opt)

    # -- shared pieces --------------------------------------------------------------------------
    def _remember_preview(self, real: torch.Tensor, labels: torch.Tensor) -> None:
        if self.preview_batch is None:
            n = self.cfg.train.n_samples
            self.preview_batch = real[:n].detach().float().cpu().contiguous()
            self.preview_labels = labels[:n].detach().cpu().clone()

    def model_inputs(self, real: torch.Tensor, step: int) -> torch.Tensor:
        """The images the likelihood is defined on: dynamically binarized for Bernoulli."""
        if self.model.likelihood == "bernoulli":
            g = step_generator(self.cfg.train.seed, step, self.rank, BINARIZE)
            return dynamic_binarize(real, g)
        return real

    def elbo_terms(self, x: torch.Tensor, labels: torch.Tensor, step: int,
                   z_prior: torch.Tensor | None = None):
        """(decoder output [N, C, H, W], recon NLL [N], KL [N], prior samples or None)."""
        cond = labels if self.model.num_classes else None
        eps = global_randn(x.shape[0], self.model.latent_dim, seed=self.cfg.train.seed,
                           step=step, rank=self.rank, world=self.world, stream=EPS)
        return self.forward_net(x, cond, eps.to(x.device), z_prior)

    def kl_beta(self, step: int) -> float:
        return kl_weight(step, self.model.beta, self.model.kl_warmup)

    # -- Task interface -------------------------------------------------------------------------
    def train_step(self, batch, step):
        real, labels = batch["image"], batch["label"]
        self._remember_preview(real, labels)
        x = self.model_inputs(real, step)
        beta = self.kl_beta(step)
        with self.precision.autocast(self.device):
            _, recon, kl, _ = self.elbo_terms(x, labels, step)
            loss = (recon + beta * kl).mean()
        self.opt.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt.step()
        recon, kl = recon.detach().mean(), kl.detach().mean()
        return {"loss": loss.detach(), "recon": recon, "kl": kl, "total": recon + kl,
                "beta": torch.tensor(beta)}

    def components(self) -> dict[str, VAE]:
        return {"generator": cpu_copy(self.model)}

    @torch.no_grad()
    def preview(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """{"samples": prior samples, "recon": rows of originals, each followed by a row of their
        reconstructions (z = mu)}."""
        out = {"samples": generate_images(self.model, n, seed=seed)}
        if self.preview_batch is None:
            return out
        was = self.model.training
        self.model.eval()
        x, y = self.preview_batch[:n].to(self.device), self.preview_labels[:n].to(self.device)
        cond = y if self.model.num_classes else None
        rec = self.model.decode(self.model.encode(x, cond)[0], cond).float().clamp(-1, 1)
        self.model.train(was)
        x = x.float()
        cols = grid_rows(n)  # the trainer's grid width: originals and recons alternate rows
        rows = []
        for i in range(0, len(x), cols):
            rows += [x[i:i + cols].cpu(), rec[i:i + cols].cpu()]  # original row, then its recon
        out["recon"] = torch.cat(rows)  # [2n, C, H, W]
        return out

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                "preview": self.preview_batch, "preview_labels": self.preview_labels}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        align_state_layout(self.opt)
        self.preview_batch, self.preview_labels = state.get("preview"), state.get("preview_labels")


class VAEGANTask(VAETask):
    """D on real vs reconstructions and prior samples; encoder on KL + reconstruction (pixel NLL and
    D-feature error); decoder on reconstruction + adversarial loss, as in Larsen et al. 2016."""

    health_loss_key = "loss_d"

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        D = family.build("discriminator", **self.shape).to(
            self.device, memory_format=self.precision.memory_format)
        self.adversary = Adversary(D, cfg, device=self.device, precision=self.precision,
                                   num_images=self.num_images, streams=(AUGMENT, PENALTY),
                                   augment=False)  # the feature loss compares un-augmented images
        self.enc_params = list(self.model.encoder.parameters())
        enc_ids = {id(p) for p in self.enc_params}
        self.dec_params = [p for p in self.model.parameters()
                           if id(p) not in enc_ids and p.requires_grad]

    @property
    def D(self) -> nn.Module:
        return self.adversary.D

    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        self.adversary.prepare(accelerator)

    def train_step(self, batch, step):
        real, labels = batch["image"], batch["label"]
        self._remember_preview(real, labels)
        g, D = self.model, self.adversary.D
        x = self.model_inputs(real, step)
        beta = self.kl_beta(step)
        zp = global_randn(real.shape[0], g.latent_dim, seed=self.cfg.train.seed, step=step,
                          rank=self.rank, world=self.world, stream=PRIOR)
        with self.precision.autocast(self.device):
            out, recon, kl, x_pri = self.elbo_terms(x, labels, step, zp.to(self.device))
            x_rec = g.to_images(out)  # [N, C, H, W] in [-1, 1]
        # D sees the real (non-binarized) images: decoder means are grey, binarized pixels are not
        logs = self.adversary.d_step(real, (x_rec, x_pri), step=step)
        with self.adversary.frozen():
            with self.precision.autocast(self.device):
                logit_rec, f_rec = D.forward_with_features(x_rec)
                f_real = D.features(real).detach()
                feature = 0.5 * (f_rec.float() - f_real.float()).pow(2).sum(1)  # [N]
                adv = 0.5 * (self.adversary.loss.g_loss(logit_rec)
                             + self.adversary.g_loss(x_pri, step=step))
                rec_loss = g.pixel_weight * recon.mean() + g.feature_weight * feature.mean()
                loss_enc = rec_loss + beta * kl.mean()
            self.opt.zero_grad(set_to_none=True)
            # encoder: rec + beta KL; decoder: rec + adversarial. The decoder-only adversarial
            # gradient is computed first with autograd.grad (no DDP hooks fire) and left in .grad;
            # then ONE backward of loss_enc over every weight (KL has no decoder gradient) adds the
            # rest, and DDP averages each weight's summed gradient across processes once.
            adv_total = g.adv_weight * real[0].numel() * adv
            grads = torch.autograd.grad(adv_total, self.dec_params, retain_graph=True,
                                        allow_unused=True)
            for p, grad in zip(self.dec_params, grads, strict=True):
                p.grad = grad
            self.backward(loss_enc)
        self.opt.step()
        recon, kl = recon.detach().mean(), kl.detach().mean()
        return {"recon": recon, "kl": kl, "total": recon + kl, "feature": feature.detach().mean(),
                "loss_g": adv.detach(), "beta": torch.tensor(beta), **logs}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt, self.adversary.opt]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), **self.adversary.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.adversary.load_state_dict(state)
