"""Image translation tasks: pix2pix (Isola et al. 2017) and CycleGAN (Zhu et al. 2017).

pix2pix: a U-Net G and a PatchGAN conditioned on the input; G's loss is adversarial + lambda_l1
x L1 to the target. CycleGAN: two ResNet Gs and two unconditional PatchGANs (train.loss, LSGAN in
the recipes), cycle (lambda_cycle) and identity (lambda_identity x lambda_cycle) losses, a pool of
past fakes per D. Both: optional jitter (resize 1.12x, random crop back, flip), learning rates
constant until translation.decay_start x train.steps, then linear to 0. Every random draw is
addressed by (seed, step, rank, stream) or lives in saved state, so resume is bit-exact.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.errors import UserError
from pixelforge.losses.translation import cycle_loss, identity_loss, l1_to_target
from pixelforge.models.base import PixelforgeModule
from pixelforge.training.adversary import Adversary
from pixelforge.training.image_pool import ImagePool
from pixelforge.training.init import copy_init_weights
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.sampler import step_generator
from pixelforge.training.task import Task, cpu_copy

log = logging.getLogger("pixelforge.train")

DROPOUT, JITTER = 20, 21  # step_generator streams; each adversary takes two more from 22 on
JITTER_SCALE = 1.12  # 286 / 256 in the reference implementation


def lr_factor(step: int, steps: int, decay_start: float) -> float:
    """1 until decay_start x steps, then linear to 0 at `steps` (the paper's 100 + 100 epochs)."""
    start = int(round(decay_start * steps))
    if step < start or steps <= start:
        return 1.0
    return max(0.0, 1.0 - (step - start) / (steps - start + 1))


def jitter(images: list[torch.Tensor], gen: torch.Generator) -> list[torch.Tensor]:
    """The same random resize-crop-flip for row i of every tensor ([N, C, H, W], one layout)."""
    n, (h, w) = images[0].shape[0], images[0].shape[-2:]
    bh, bw = int(round(h * JITTER_SCALE)), int(round(w * JITTER_SCALE))
    ys = torch.randint(0, bh - h + 1, (n,), generator=gen).tolist()
    xs = torch.randint(0, bw - w + 1, (n,), generator=gen).tolist()
    flips = torch.rand(n, generator=gen).lt(0.5).tolist()
    out = []
    for x in images:
        big = F.interpolate(x.float(), size=(bh, bw), mode="bilinear", align_corners=False)
        rows = [big[i, :, y:y + h, x0:x0 + w] for i, (y, x0) in
                enumerate(zip(ys, xs, strict=True))]  # [C, H, W] each
        rows = [r.flip(-1) if f else r for r, f in zip(rows, flips, strict=True)]
        fmt = (torch.channels_last if x.shape[1] > 1
               and x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format)
        out.append(torch.stack(rows).to(x.dtype).contiguous(memory_format=fmt))
    return out


@contextlib.contextmanager
def seeded(gen_seed: int, device: torch.device) -> Iterator[None]:
    """The global RNG (dropout masks) seeded from the step, and restored afterwards."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(gen_seed)
        yield


class TranslationTask(Task):
    """The shared parts of the translation tasks (adversaries, lr schedule, jitter, previews);
    the kind's declaration (pixelforge/kinds/translation.py) names each family's task."""

    def _place(self, net: nn.Module) -> nn.Module:
        """The network on the device, after checking model.image_size suits it."""
        size, stride = int(self.cfg.model.image_size or 0), int(getattr(net, "stride", 1))
        if size % stride or size < 32:
            fit = max(32, -(-size // stride) * stride)
            fit += (-fit) % stride
            raise UserError(f"model.image_size {size}: {self.family.name} needs a multiple of "
                            f"{stride} of at least 32 px (e.g. {fit}); the data is resized to it")
        return net.to(self.device, memory_format=self.precision.memory_format)

    def _adversary(self, D: nn.Module, index: int) -> Adversary:
        streams = (22 + 2 * index, 23 + 2 * index)
        return Adversary(self._place(D), self.cfg, device=self.device, precision=self.precision,
                         num_images=self.num_images, augment=False, streams=streams,
                         name=f"d{index}")

    def _set_lr(self, step: int) -> None:
        t, tr = self.cfg.train, self.cfg.translation
        f = lr_factor(step, t.steps, tr.decay_start) * self.lr_scale
        for opt, base in self._lr_groups():
            for group in opt.param_groups:
                group["lr"] = base * f

    def _lr_groups(self) -> list[tuple[torch.optim.Optimizer, float]]:
        t = self.cfg.train
        return [(self.opt_g, t.lr_g)] + [(a.opt, t.lr_d) for a in self.adversaries]

    def _jitter(self, batch: dict[str, torch.Tensor], keys: list[list[str]], step: int
                ) -> dict[str, torch.Tensor]:
        if not self.cfg.translation.jitter:
            return batch
        batch = dict(batch)
        for i, group in enumerate(keys):  # each group shares one crop (a pair); groups differ
            gen = step_generator(self.cfg.train.seed, step, self.rank, JITTER + 100 * i)
            for k, v in zip(group, jitter([batch[k] for k in group], gen), strict=True):
                batch[k] = v
        return batch

    def _dropout_seed(self, step: int) -> int:
        g = step_generator(self.cfg.train.seed, step, self.rank, DROPOUT)
        return int(torch.randint(0, 2**62, (), generator=g))

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [opt for opt, _ in self._lr_groups()]

    def scale_learning_rate(self, factor: float) -> None:
        """Health rollbacks: remembered, since the schedule rewrites the rates every step."""
        self.lr_scale *= factor

    def rebase_learning_rates(self, ratios) -> None:
        """Nothing to do: the schedule sets every rate from train.lr_g / lr_d each step."""

    def _keep_preview(self, batch: dict[str, torch.Tensor]) -> None:
        if self._preview is None:
            self._preview = {k: v[:8].detach().float().cpu().contiguous()
                             for k, v in batch.items() if v.dim() == 4}

    @staticmethod
    def _rows(*columns: torch.Tensor) -> torch.Tensor:
        """Columns [n, C_i, H, W] -> rows of n x len(columns) images [n * k, C, H, W] (gray
        columns repeated to the widest channel count)."""
        c = max(x.shape[1] for x in columns)
        cols = [x.expand(-1, c, -1, -1) if x.shape[1] != c else x for x in columns]
        return torch.stack(cols, dim=1).flatten(0, 1)

    def _adv_state(self) -> dict[str, Any]:
        return {f"adversary_{i}": a.state_dict() for i, a in enumerate(self.adversaries)}

    def _load_adv_state(self, state: dict[str, Any]) -> None:
        for i, a in enumerate(self.adversaries):
            a.load_state_dict(state[f"adversary_{i}"])


class Pix2PixTask(TranslationTask):
    """pix2pix on {"input", "target"}: D on (target | input) vs (G(input) | input), then G on
    adv_weight x adversarial + lambda_l1 x L1. Exports generator_ab or generator_ba."""

    health_loss_key = "loss_l1"

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t, tr = cfg.model, cfg.train, cfg.translation
        out_c = m.channels or 3
        params = dict(m.params)
        if int(params.pop("out_channels", out_c)) != out_c:
            raise UserError("model.params.out_channels: set model.channels (the target's "
                            "channels) instead")
        in_c = int(params.pop("in_channels", 1 if tr.pairs == "gray" else out_c))
        if tr.pairs == "gray" and in_c != 1:
            raise UserError(f"model.params.in_channels: colourisation (translation.pairs gray) "
                            f"feeds 1-channel luma, got {in_c}")
        self.in_channels = in_c
        torch.manual_seed(t.seed)  # weight init is reproducible
        self.G = self._place(family.build("generator", in_channels=in_c, out_channels=out_c,
                                          **params))
        self.opt_g = adam(self.G.parameters(), t.lr_g, t.betas)
        self.adversaries: list[Adversary] = []
        if tr.adv_weight > 0:
            D = family.build("discriminator", channels=out_c, cond_channels=in_c, **params)
            self.adversaries.append(self._adversary(D, 0))
        self.g_ddp: nn.Module = self.G
        self.lr_scale = 1.0
        self._preview: dict[str, torch.Tensor] | None = None
        self.component = "generator_ab" if cfg.data.direction == "a2b" else "generator_ba"

    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        self.g_ddp, self.opt_g = accelerator.prepare(self.G, self.opt_g)
        for a in self.adversaries:
            a.prepare(accelerator)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        self._set_lr(step)
        batch = self._jitter(batch, [["input", "target"]], step)
        self._keep_preview(batch)
        x, y = batch["input"], batch["target"]  # [N, Cin, H, W], [N, C, H, W]
        with self.precision.autocast(self.device), seeded(self._dropout_seed(step), self.device):
            fake = self.g_ddp(x)  # [N, C, H, W]
        return self.adversarial_step(x, y, fake, lambda: l1_to_target(fake.float(), y.float()),
                                     step)

    def adversarial_step(self, x, y, fake, pixel_loss, step: int) -> dict[str, torch.Tensor]:
        """D's steps on (y, fake) given x, then G's: lambda_l1 * pixel_loss() (the L1 term, as
        the subclass defines it) + adv_weight * the conditional adversarial loss."""
        tr = self.cfg.translation
        logs: dict[str, torch.Tensor] = {}
        for a in self.adversaries:
            logs.update(a.d_step(y, fake, (x,), step=step))
        with self.precision.autocast(self.device):
            loss_l1 = pixel_loss()
            loss = tr.lambda_l1 * loss_l1
            for a in self.adversaries:
                with a.frozen():
                    loss_adv = a.g_loss(fake, (x,), step=step)
                loss = loss + tr.adv_weight * loss_adv
                logs["loss_g"] = loss_adv.detach()
        self.opt_g.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt_g.step()
        logs["loss_l1"] = loss_l1.detach()
        return logs

    def components(self) -> dict[str, PixelforgeModule]:
        return {self.component: cpu_copy(self.G)}

    def init_from(self, source: str) -> str:
        """Start G from `source`'s generator of this direction (a run, checkpoint or shipped model
        such as colorize): fine-tuning on a user's own pictures. D starts afresh."""
        copy_init_weights(self.G, source, self.component)
        return str(source)

    @torch.no_grad()
    def preview(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """"samples": rows of input | output | target of the first training batch (up to 8)."""
        if self._preview is None:
            return {}
        x = self._preview["input"].to(self.device, memory_format=self.precision.memory_format)
        was = self.G.training
        self.G.eval()
        with self.precision.autocast(self.device):
            out = self.G(x).float().clamp(-1, 1).cpu()
        self.G.train(was)
        return {"samples": self._rows(self._preview["input"], out, self._preview["target"])}

    def state_dict(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "opt_g": self.opt_g.state_dict(),
                "lr_scale": self.lr_scale, **self._adv_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.opt_g.load_state_dict(state["opt_g"])
        align_state_layout(self.opt_g)
        self.lr_scale = float(state.get("lr_scale", 1.0))
        self._load_adv_state(state)


class CycleGANTask(TranslationTask):
    """CycleGAN on {"a", "b"}: one G step on both generators (adversarial through D_B and D_A,
    cycle, identity), then each D on its real set vs a pooled fake. Exports both generators."""

    health_loss_key = "loss_cycle"

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t, tr = cfg.model, cfg.train, cfg.translation
        from pixelforge.data.options import side_channels

        ca, cb = (c or 3 for c in side_channels(cfg))  # per direction: gray A <-> colour B
        self.identity = tr.lambda_identity > 0 and ca == cb  # G_ab(b) ~ b needs equal channels
        params = {k: v for k, v in m.params.items() if k not in ("in_channels", "out_channels")}
        torch.manual_seed(t.seed)
        self.G_ab = self._place(family.build("generator_ab", in_channels=ca, out_channels=cb,
                                             **params))
        self.G_ba = self._place(family.build("generator_ba", in_channels=cb, out_channels=ca,
                                             **params))
        self.opt_g = adam([*self.G_ab.parameters(), *self.G_ba.parameters()], t.lr_g, t.betas)
        self.adversaries = []
        if tr.adv_weight > 0:
            self.adversaries = [self._adversary(family.build(f"discriminator_{d}", channels=cd,
                                                             **params), i)
                                for i, (d, cd) in enumerate((("a", ca), ("b", cb)))]
        self.pools = [ImagePool(tr.pool_size, seed=t.seed * 2 + i) for i in range(2)]
        self.gab_ddp: nn.Module = self.G_ab
        self.gba_ddp: nn.Module = self.G_ba
        self.lr_scale = 1.0
        self._preview: dict[str, torch.Tensor] | None = None

    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        self.gab_ddp, self.gba_ddp, self.opt_g = accelerator.prepare(self.G_ab, self.G_ba,
                                                                     self.opt_g)
        for a in self.adversaries:
            a.prepare(accelerator)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        tr = self.cfg.translation
        self._set_lr(step)
        batch = self._jitter(batch, [["a"], ["b"]], step)
        self._keep_preview(batch)
        a, b = batch["a"], batch["b"]  # [N, C, H, W] each, unrelated images
        logs: dict[str, torch.Tensor] = {}
        with self.precision.autocast(self.device), seeded(self._dropout_seed(step), self.device):
            fake_b = self.gab_ddp(a)
            fake_a = self.gba_ddp(b)
            loss_cycle = (cycle_loss(a.float(), self.gba_ddp(fake_b).float())
                          + cycle_loss(b.float(), self.gab_ddp(fake_a).float()))
            loss = tr.lambda_cycle * loss_cycle
            if self.identity:
                loss_idt = identity_loss(self.gab_ddp, self.gba_ddp, a, b)
                loss = loss + tr.lambda_identity * tr.lambda_cycle * loss_idt
                logs["loss_identity"] = loss_idt.detach()
        if self.adversaries:
            d_a, d_b = self.adversaries
            with d_a.frozen(), d_b.frozen():
                loss_gab = d_b.g_loss(fake_b, step=step)
                loss_gba = d_a.g_loss(fake_a, step=step)
            loss = loss + tr.adv_weight * (loss_gab + loss_gba)
            logs.update(loss_g_ab=loss_gab.detach(), loss_g_ba=loss_gba.detach())
        self.opt_g.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt_g.step()
        if self.adversaries:
            for name, adv, real, fake, pool in (("a", d_a, a, fake_a, self.pools[0]),
                                                ("b", d_b, b, fake_b, self.pools[1])):
                out = adv.d_step(real, pool.query(fake), step=step)
                logs.update({f"{k}_{name}": v for k, v in out.items()})
        logs["loss_cycle"] = loss_cycle.detach()
        return logs

    def components(self) -> dict[str, PixelforgeModule]:
        return {"generator_ab": cpu_copy(self.G_ab), "generator_ba": cpu_copy(self.G_ba)}

    @torch.no_grad()
    def preview(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """"samples": rows a | G_ab(a) | G_ba(G_ab(a)); "b2a": b | G_ba(b) | G_ab(G_ba(b))."""
        if self._preview is None:
            return {}
        out = {}
        fmt = self.precision.memory_format
        for name, key, g, back in (("samples", "a", self.G_ab, self.G_ba),
                                   ("b2a", "b", self.G_ba, self.G_ab)):
            x = self._preview[key]
            with self.precision.autocast(self.device):
                y = g.eval()(x.to(self.device, memory_format=fmt)).float().clamp(-1, 1)
                z = back.eval()(y.contiguous(memory_format=fmt)).float().clamp(-1, 1)
            g.train(), back.train()
            out[name] = self._rows(x, y.cpu(), z.cpu())
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"G_ab": self.G_ab.state_dict(), "G_ba": self.G_ba.state_dict(),
                "opt_g": self.opt_g.state_dict(), "lr_scale": self.lr_scale,
                "pool_a": self.pools[0].state_dict(), "pool_b": self.pools[1].state_dict(),
                **self._adv_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G_ab.load_state_dict(state["G_ab"])
        self.G_ba.load_state_dict(state["G_ba"])
        self.opt_g.load_state_dict(state["opt_g"])
        align_state_layout(self.opt_g)
        self.lr_scale = float(state.get("lr_scale", 1.0))
        self.pools[0].load_state_dict(state["pool_a"])
        self.pools[1].load_state_dict(state["pool_b"])
        self._load_adv_state(state)

