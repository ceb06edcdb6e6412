"""Restoration tasks: denoise (DnCNN, Zhang et al. 2017), upscale (SRResNet/EDSR, optional SRGAN
fine-tune, Ledig et al. 2017) and inpaint (gated-conv U-Net + PatchGAN, Yu et al. 2019).

Each trains one network on the "degraded" data (seeded crops of photos, see data/degraded_photos.py) with
a pixel loss (L1 or L2), plus, when restore.adv_weight > 0, an Adversary (PatchGAN) and, when
restore.feature_weight > 0, a feature-matching loss in a frozen cnn's features. The EMA of the
network is what checkpoints export.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.data import degraded_photos  # noqa: F401  (registers the "degraded" dataset builder)
from pixelforge.models.base import PixelforgeModule
from pixelforge.models.patchgan import PatchGAN
from pixelforge.training.adversary import Adversary
from pixelforge.training.ema import EMA
from pixelforge.training.init import copy_init_weights
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.task import Task, cpu_copy

log = logging.getLogger("pixelforge.train")

AUGMENT_STREAM, PENALTY_STREAM = 11, 12  # step_generator streams of the adversary


class FeatureLoss(nn.Module):
    """Feature-matching (perceptual) loss: L1 between a frozen cnn's conv feature maps of output
    and target at native resolution, divided by the target maps' mean magnitude so its weight
    means the same whatever the extractor's scale. The cnn never trains. A network that returns a
    list of maps (losses.perceptual.GaborEnergy, one per octave) scores each the same way and
    averages them."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        net = net.eval().requires_grad_(False)
        convs = getattr(net, "convs", None)  # CNNClassifier: conv blocks, then a 4x4 avg-pool
        self.maps = convs[:-1] if isinstance(convs, nn.Sequential) else getattr(net, "features",
                                                                                net)

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            ft = self.maps(target)
        fo = self.maps(out)
        if isinstance(ft, torch.Tensor):
            ft, fo = [ft], [fo]
        terms = [(o - t).abs().mean() / t.abs().mean().clamp_min(1e-6) for o, t in zip(fo, ft,
                                                                                       strict=True)]
        return sum(terms) / len(terms)


class RestoreTask(Task):
    """One restoration network trained on {"input", "target"(, "mask")} batches."""

    role: ClassVar[str] = ""
    health_loss_key = "loss_pixel"

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t, r = cfg.model, cfg.train, cfg.restore
        torch.manual_seed(t.seed)  # weight init is reproducible
        self.net = family.build(self.role, channels=m.channels or 3, **m.params)
        self.net.to(self.device, memory_format=self.precision.memory_format)
        self.opt = adam(self.net.parameters(), t.lr_g, t.betas)
        self.ema = EMA(self.net, decay=t.ema_decay, rampup=t.ema_rampup)
        self.ddp: nn.Module = self.net
        self.adversary: Adversary | None = None
        if r.adv_weight > 0:
            D = PatchGAN(channels=m.channels or 3, cond_channels=self.d_cond_channels, width=32,
                         norm="spectral").to(self.device, memory_format=self.precision.memory_format)
            self.adversary = Adversary(D, cfg, device=self.device, precision=self.precision,
                                       num_images=self.num_images, augment=False,
                                       streams=(AUGMENT_STREAM, PENALTY_STREAM))
        self.features: FeatureLoss | None = None
        if r.feature_weight > 0:
            self.features = FeatureLoss(feature_network(cfg)).to(self.device)
        self._preview: dict[str, torch.Tensor] | None = None

    d_cond_channels: ClassVar[int] = 0

    # -- hooks of each kind ----------------------------------------------------------------------
    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.ddp(batch["input"])

    def pixel_loss(self, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        diff = out.float() - batch["target"].float()
        return diff.abs().mean() if self.cfg.restore.pixel_loss == "l1" else diff.pow(2).mean()

    def d_cond(self, batch: dict[str, torch.Tensor]) -> tuple:
        return ()

    # -- the step --------------------------------------------------------------------------------
    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        self.ddp, self.opt = accelerator.prepare(self.net, self.opt)
        if self.adversary is not None:
            self.adversary.prepare(accelerator)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        r = self.cfg.restore
        if self._preview is None:
            self._preview = {k: v[:8].detach().cpu().contiguous() for k, v in batch.items()}
        logs: dict[str, torch.Tensor] = {}
        with self.precision.autocast(self.device):
            out = self.forward(batch)
        if self.adversary is not None:
            logs.update(self.adversary.d_step(batch["target"], out, self.d_cond(batch),
                                              step=step))
        with self.precision.autocast(self.device):
            loss_pixel = self.pixel_loss(out, batch)
            loss = loss_pixel
            if self.features is not None:
                loss_feat = self.features(out.float(), batch["target"].float())
                loss = loss + r.feature_weight * loss_feat
                logs["loss_feature"] = loss_feat.detach()
        if self.adversary is not None:
            with self.adversary.frozen():
                loss_adv = self.adversary.g_loss(out, self.d_cond(batch), step=step)
            loss = loss + r.adv_weight * loss_adv
            logs["loss_adv"] = loss_adv.detach()
        self.opt.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt.step()
        t = self.cfg.train
        self.ema.update(self.net, images_seen=(step + 1) * t.batch_size * self.world,
                        batch=t.batch_size * self.world, average=step >= t.ema_start)
        logs["loss_pixel"] = loss_pixel.detach()
        return logs

    # -- export, previews, state -----------------------------------------------------------------
    def components(self) -> dict[str, PixelforgeModule]:
        return {self.role: cpu_copy(self.ema.module)}

    @torch.no_grad()
    def preview(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """"samples": input | EMA output | target side by side, for the first (up to 8) training
        crops the task saw."""
        if self._preview is None:
            return {}
        b = {k: v.to(self.device) for k, v in self._preview.items()}
        net = self.ema.module.eval()
        with self.precision.autocast(self.device):
            out = self.run_network(net, b).float().clamp(-1, 1)
        target = b["target"].float()
        inp = b["input"].float()
        if inp.shape[-2:] != target.shape[-2:]:
            inp = F.interpolate(inp, size=target.shape[-2:], mode="nearest")
        return {"samples": torch.cat([inp, out, target], dim=-1).cpu()}  # [n, C, H, 3W]

    def run_network(self, net: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return net(batch["input"])

    def state_dict(self) -> dict[str, Any]:
        state = {"net": self.net.state_dict(), "opt": self.opt.state_dict(),
                 "ema": self.ema.state_dict()}
        if self.adversary is not None:
            state["adversary"] = self.adversary.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        align_state_layout(self.opt)
        self.ema.load_state_dict(state["ema"])
        if self.adversary is not None:
            self.adversary.load_state_dict(state["adversary"])

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt] + ([self.adversary.opt] if self.adversary is not None else [])

    def init_from(self, source: str) -> str:
        """Copy the weights of `source`'s network of this role (run, checkpoint or shipped model
        name) into the network and its EMA; returns where they came from."""
        copy_init_weights(self.net, source, self.role)
        self.ema = EMA(self.net, decay=self.cfg.train.ema_decay, rampup=self.cfg.train.ema_rampup)
        return str(source)


class DenoiseTask(RestoreTask):
    """DnCNN: the network predicts the noise (residual learning); loss on the denoised image."""

    role = "denoiser"


class UpscaleTask(RestoreTask):
    """SRResNet on L1 (restore.adv_weight / feature_weight > 0: the SRGAN-style fine-tune)."""

    role = "upscaler"


class InpaintTask(RestoreTask):
    """Gated-conv U-Net on image + mask: L1 weighted restore.hole_weight inside the hole, plus a
    PatchGAN conditioned on the mask when restore.adv_weight > 0."""

    role = "inpainter"
    d_cond_channels = 1

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.ddp(batch["target"], batch["mask"])

    def run_network(self, net: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return net(batch["target"], batch["mask"])

    def pixel_loss(self, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        m = batch["mask"].float()
        diff = (out.float() - batch["target"].float()).abs()
        if self.cfg.restore.pixel_loss == "l2":
            diff = diff.pow(2)
        hole = (diff * m).sum() / (m.sum() * diff.shape[1]).clamp_min(1.0)
        # known pixels are pasted through, so only the hole carries a loss; the weight keeps the
        # scale of the GAN and feature terms comparable to the published recipes
        return self.cfg.restore.hole_weight * hole

    def d_cond(self, batch: dict[str, torch.Tensor]) -> tuple:
        return (batch["mask"],)


def feature_network(cfg) -> nn.Module:
    """The frozen network whose features the feature-matching loss compares: restore.feature_net
    "gabor" (fixed oriented filter bank, losses/perceptual.py: shares nothing with the FD judges)
    or "extractor" (the `cnn` evaluator's extractor for the training photos), or "random" (a
    seeded random-weight conv net, training/random_features.py, also no judge's)."""
    if cfg.restore.feature_net == "gabor":
        from pixelforge.losses.perceptual import GaborEnergy

        return GaborEnergy()
    if cfg.restore.feature_net == "random":
        from pixelforge.training.random_features import RandomFeatures

        return RandomFeatures(cfg.model.channels or 3)
    from pixelforge.metrics.restoration_fd import photo_extractor

    return photo_extractor(cfg.data.path).model
