"""VAE training: reparameterised ELBO (Kingma & Welling 2014), VAE-GAN (Larsen et al. 2016)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from pixelforge.losses import GAN_LOSSES
from pixelforge.losses.vae import gaussian_kl, kl_weight, reparameterize
from pixelforge.models.vae import VAE
from pixelforge.training.optim import align_state_layout
from pixelforge.training.sampler import step_generator
from pixelforge.training.task import TASKS, Task

# step_generator streams: one independent RNG per use, so resuming at any step is exact
BINARIZE, EPS, PRIOR = 1, 2, 3


def _adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def dynamic_binarize(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each pixel -> +1 with probability (x + 1) / 2, else -1 (Salakhutdinov & Murray 2008)."""
    p = ((images.float().cpu() + 1.0) * 0.5).clamp_(0.0, 1.0)
    return (torch.bernoulli(p, generator=generator) * 2.0 - 1.0).to(images.device, images.dtype)


@TASKS.register("vae")
class VAETask(Task):
    """Minimise E_q[-log p(x|z)] + beta_t * KL(q(z|x) || p(z)) with one Adam (lr_g, betas)."""

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t = cfg.model, cfg.train
        params = {"num_classes": self.num_classes, **m.params}  # only conditional families take it
        self.shape = dict(image_size=m.image_size, channels=m.channels, latent_dim=m.latent_dim,
                          **params)
        torch.manual_seed(t.seed)  # weight init is reproducible
        self.model: VAE = family.build("generator", **self.shape).to(
            self.device, memory_format=self.precision.memory_format)
        self.opt = _adam(self.model.parameters(), t.lr_g, t.betas)
        self.accelerator, self.rank, self.world = None, 0, 1
        self.preview: torch.Tensor | None = None  # fixed batch for reconstruction grids
        self.preview_labels: torch.Tensor | None = None

    def prepare(self, accelerator) -> None:
        # the networks stay unwrapped (the step calls encode/decode, not forward); gradients are
        # averaged across processes by _sync_grads instead of DDP hooks
        self.accelerator = accelerator
        self.rank, self.world = accelerator.process_index, accelerator.num_processes

    # -- shared pieces --------------------------------------------------------------------------
    def _sync_grads(self, params) -> None:
        if self.world <= 1:
            return
        import torch.distributed as dist

        for p in params:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad.div_(self.world)

    def _remember_preview(self, real: torch.Tensor, labels: torch.Tensor) -> None:
        if self.preview is None:
            n = self.cfg.train.n_samples
            self.preview = real[:n].detach().float().cpu().contiguous()
            self.preview_labels = labels[:n].detach().cpu().clone()

    def model_inputs(self, real: torch.Tensor, step: int) -> torch.Tensor:
        """The images the likelihood is defined on: dynamically binarized for Bernoulli."""
        if self.model.likelihood == "bernoulli":
            g = step_generator(self.cfg.train.seed, step, self.rank, BINARIZE)
            return dynamic_binarize(real, g)
        return real

    def elbo_terms(self, x: torch.Tensor, labels: torch.Tensor, step: int):
        """(decoder output [N, C, H, W], recon NLL [N], KL [N], mu, logvar) for one batch."""
        cond = labels if self.model.num_classes else None
        mu, logvar = self.model.encode(x, cond)  # [N, Z] each
        eps = torch.randn(mu.shape, generator=step_generator(self.cfg.train.seed, step,
                                                             self.rank, EPS)).to(mu.device)
        z = reparameterize(mu, logvar, eps.to(mu.dtype))  # [N, Z]
        out = self.model.decode_raw(z, cond)  # [N, C, H, W]
        return out, self.model.recon_nll(out, x), gaussian_kl(mu, logvar), mu, logvar

    def kl_beta(self, step: int) -> float:
        return kl_weight(step, self.model.beta, self.model.kl_warmup)

    # -- Task interface -------------------------------------------------------------------------
    def train_step(self, real, labels, step):
        self._remember_preview(real, labels)
        x = self.model_inputs(real, step)
        beta = self.kl_beta(step)
        with self.precision.autocast(self.device):
            _, recon, kl, _, _ = self.elbo_terms(x, labels, step)
            loss = (recon + beta * kl).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self._sync_grads(self.model.parameters())
        self.opt.step()
        recon, kl = recon.detach().mean(), kl.detach().mean()
        return {"loss": loss.detach(), "recon": recon, "kl": kl, "total": recon + kl,
                "beta": torch.tensor(beta)}

    def export_module(self) -> VAE:
        return copy.deepcopy(self.model).to("cpu", memory_format=torch.contiguous_format).eval()

    @torch.no_grad()
    def sample_images(self, n: int, seed: int) -> torch.Tensor:
        return self.model.generate(n, seed=seed)

    @torch.no_grad()
    def preview_images(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """{'recon': rows of originals, each followed by a row of reconstructions (z = mu)}."""
        if self.preview is None:
            return {}
        was = self.model.training
        self.model.eval()
        x, y = self.preview[:n].to(self.device), self.preview_labels[:n].to(self.device)
        cond = y if self.model.num_classes else None
        rec = self.model.decode(self.model.encode(x, cond)[0], cond).float().clamp(-1, 1)
        self.model.train(was)
        x = x.float()
        cols = max(1, int(len(x) ** 0.5))
        rows = []
        for i in range(0, len(x), cols):
            rows += [x[i:i + cols].cpu(), rec[i:i + cols].cpu()]  # original row, then its recon
        return {"recon": torch.cat(rows)}  # [2n, C, H, W]

    def train_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.model}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt, *([self.opt_d] if hasattr(self, "opt_d") else [])]

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                "preview": self.preview, "preview_labels": self.preview_labels}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        align_state_layout(self.opt)
        self.preview, self.preview_labels = state.get("preview"), state.get("preview_labels")


@TASKS.register("vae-gan")
class VAEGANTask(VAETask):
    """D on real vs reconstructions and prior samples; encoder on KL + reconstruction (pixel NLL and
    D-feature error); decoder on reconstruction + adversarial loss, as in Larsen et al. 2016."""

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        t = cfg.train
        self.D: nn.Module = family.build("discriminator", **self.shape).to(
            self.device, memory_format=self.precision.memory_format)
        self.opt_d = _adam(self.D.parameters(), t.lr_d, t.betas)
        self.loss = GAN_LOSSES.get(t.loss)()
        self.enc_params = list(self.model.encoder.parameters())
        enc_ids = {id(p) for p in self.enc_params}
        self.dec_params = [p for p in self.model.parameters()
                           if id(p) not in enc_ids and p.requires_grad]

    def _d_step(self, real, x_rec, x_pri):
        with self.precision.autocast(self.device):
            d_real = self.D(real)
            d_rec, d_pri = self.D(x_rec.detach()), self.D(x_pri.detach())
            loss_d = 0.5 * (self.loss.d_loss(d_real, d_rec) + self.loss.d_loss(d_real, d_pri))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self._sync_grads(self.D.parameters())
        self.opt_d.step()
        return loss_d.detach(), d_real.detach(), d_pri.detach()

    def train_step(self, real, labels, step):
        self._remember_preview(real, labels)
        g = self.model
        x = self.model_inputs(real, step)
        beta = self.kl_beta(step)
        cond = labels if g.num_classes else None
        zp = torch.randn(real.shape[0], g.latent_dim,
                         generator=step_generator(self.cfg.train.seed, step, self.rank, PRIOR))
        with self.precision.autocast(self.device):
            out, recon, kl, _, _ = self.elbo_terms(x, labels, step)
            x_rec = g.to_images(out)  # [N, C, H, W] in [-1, 1]
            x_pri = g.decode(zp.to(self.device), cond)  # samples from the prior
        # D sees the real (non-binarized) images: decoder means are grey, binarized pixels are not
        loss_d, d_real, d_pri = self._d_step(real, x_rec, x_pri)
        self.D.requires_grad_(False)
        with self.precision.autocast(self.device):
            logit_rec, f_rec = self.D.forward_with_features(x_rec)
            f_real = self.D.features(real).detach()
            feature = 0.5 * (f_rec.float() - f_real.float()).pow(2).sum(1)  # [N]
            adv = 0.5 * (self.loss.g_loss(logit_rec) + self.loss.g_loss(self.D(x_pri)))
            rec_loss = g.pixel_weight * recon.mean() + g.feature_weight * feature.mean()
            loss_enc = rec_loss + beta * kl.mean()
            loss_dec = rec_loss + g.adv_weight * real[0].numel() * adv
        self.opt.zero_grad(set_to_none=True)
        loss_enc.backward(inputs=self.enc_params, retain_graph=True)
        loss_dec.backward(inputs=self.dec_params)
        self._sync_grads(g.parameters())
        self.opt.step()
        self.D.requires_grad_(True)
        recon, kl = recon.detach().mean(), kl.detach().mean()
        return {"recon": recon, "kl": kl, "total": recon + kl, "feature": feature.detach().mean(),
                "loss_d": loss_d, "loss_g": adv.detach(), "beta": torch.tensor(beta),
                "d_real": torch.sigmoid(d_real.float()).mean(),
                "d_fake": torch.sigmoid(d_pri.float()).mean()}

    def train_modules(self) -> dict[str, nn.Module]:
        return {"generator": self.model, "discriminator": self.D}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "D": self.D.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.D.load_state_dict(state["D"])
        self.opt_d.load_state_dict(state["opt_d"])
        align_state_layout(self.opt_d)
