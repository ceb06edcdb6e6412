"""Two outside GAN recipes, trained by their own plain fp32 loops, as yardsticks for gan_quality.py.

- `examples-dcgan`: the pytorch/examples DCGAN recipe (BCE on a Sigmoid D, Adam 2e-4 (0.5, 0.999),
  batch 64, eager fp32 NCHW) at the training size (32 px); its step is `_Examples.train_step` from
  train_throughput.py, only the networks are built for sizes other than 64 px.
- `wgan-gp-mlp`: the PyTorch-GAN WGAN-GP recipe: MLP generator (128-256-512-1024, BatchNorm,
  LeakyReLU, tanh), MLP critic (512-256-1), latent 100, n_critic 5, gradient-penalty weight 10,
  Adam 2e-4 (0.5, 0.999), batch 64, at the data's native resolution (28 px MNIST, 32 px CIFAR).

`train_baseline` trains one for a process-CPU-time budget and returns a pixelforge `Generator`
(so `generate(n, seed)` gives [-1, 1] images [N, C, H, W]) plus run statistics.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixelforge.errors import TrainingDiverged, UserError
from pixelforge.models.base import Generator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import _Examples  # noqa: E402  (the pytorch/examples DCGAN step)

LATENT = 100
BATCH = 64


class FP32Generator(Generator):
    """A baseline generator: samples in fp32 like the recipe it comes from (no bf16 autocast)."""

    def generate(self, n: int, seed: int | None = 0, *, precision: str = "fp32", **kw):
        from pixelforge.pipelines.sampling import generate_images

        return generate_images(self, n, seed, precision=precision, **kw)


# --- (a) pytorch/examples DCGAN ----------------------------------------------------------------
def _stages(image_size: int) -> int:
    n = math.log2(image_size / 4)
    if image_size < 16 or not n.is_integer():
        raise UserError(f"examples-dcgan needs a power-of-two image size >= 16 (got {image_size})")
    return int(n)


class ExamplesGenerator(FP32Generator):
    """pytorch/examples netG at any power-of-two size: z [N, nz, 1, 1] -> 4x4 -> ... -> tanh."""

    def __init__(self, image_size: int = 32, channels: int = 1, latent_dim: int = LATENT,
                 width: int = 64) -> None:
        super().__init__()
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        n = _stages(image_size)
        ch = width * 2 ** (n - 1)  # ngf * 8 at 64 px, ngf * 4 at 32 px
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, ch, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))  # [N, C, S, S]


def examples_discriminator(image_size: int, channels: int, width: int = 64) -> nn.Sequential:
    """pytorch/examples netD at any power-of-two size, ending in a Sigmoid probability."""
    n = _stages(image_size)
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False),
                               nn.LeakyReLU(0.2, inplace=True)]
    ch = width
    for _ in range(n - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                   nn.LeakyReLU(0.2, inplace=True)]
        ch *= 2
    layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*layers)


class ExamplesDCGAN(_Examples):
    """The pytorch/examples recipe with networks for `image_size`; train_step is inherited."""

    def __init__(self, image_size: int, channels: int, latent_dim: int = LATENT) -> None:
        # not super().__init__(): that builds the fixed 64 px networks
        self.nz = latent_dim
        self.gen = ExamplesGenerator(image_size, channels, latent_dim)
        self.netG = self.gen.net  # takes [N, nz, 1, 1]
        self.netD = examples_discriminator(image_size, channels)
        self.init_training()

    def generator(self) -> Generator:
        return self.gen


# --- (b) PyTorch-GAN WGAN-GP -------------------------------------------------------------------
class MLPGenerator(FP32Generator):
    """z -> 128 -> 256 -> 512 -> 1024 -> C*H*W, tanh; BatchNorm on all hidden layers but the first.

    BatchNorm1d(d, 0.8) passes 0.8 as eps, as the recipe does (a large eps; kept for fidelity)."""

    def __init__(self, image_size: int = 28, channels: int = 1, latent_dim: int = LATENT) -> None:
        super().__init__()
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim

        def block(d_in: int, d_out: int, norm: bool = True) -> list[nn.Module]:
            return [nn.Linear(d_in, d_out), *([nn.BatchNorm1d(d_out, 0.8)] if norm else []),
                    nn.LeakyReLU(0.2, inplace=True)]

        self.net = nn.Sequential(*block(latent_dim, 128, norm=False), *block(128, 256),
                                 *block(256, 512), *block(512, 1024),
                                 nn.Linear(1024, channels * image_size * image_size), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], self.channels, self.image_size, self.image_size)


class MLPCritic(nn.Module):
    """Flattened image -> 512 -> 256 -> one unbounded score, LeakyReLU(0.2), no normalisation."""

    def __init__(self, image_size: int, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(channels * image_size * image_size, 512),
                                 nn.LeakyReLU(0.2, inplace=True), nn.Linear(512, 256),
                                 nn.LeakyReLU(0.2, inplace=True), nn.Linear(256, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # [N, 1]


class WGANGPMLP:
    """PyTorch-GAN's loop: every batch a critic step (D also backpropagates into G, as there), every
    n_critic-th batch a G step on fresh G(z) with the same z."""

    def __init__(self, image_size: int, channels: int, latent_dim: int = LATENT, n_critic: int = 5,
                 gp_weight: float = 10.0) -> None:
        self.nz, self.n_critic, self.gp_weight = latent_dim, n_critic, gp_weight
        self.gen = MLPGenerator(image_size, channels, latent_dim)
        self.critic = MLPCritic(image_size, channels)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.loss_g = torch.zeros(())

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        alpha = torch.rand(real.shape[0], 1, 1, 1)
        mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.critic(mix), mix, grad_outputs=torch.ones(real.shape[0], 1),
                                      create_graph=True, retain_graph=True)
        return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    def train_step(self, real: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        z = torch.randn(real.shape[0], self.nz)
        self.opt_d.zero_grad()
        fake = self.gen(z)
        gp = self._gradient_penalty(real.detach(), fake.detach())
        loss_d = -self.critic(real).mean() + self.critic(fake).mean() + self.gp_weight * gp
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        if step % self.n_critic == 0:
            loss_g = -self.critic(self.gen(z)).mean()
            loss_g.backward()
            self.opt_g.step()
            self.loss_g = loss_g.detach()
        return {"loss_d": loss_d.detach(), "loss_g": self.loss_g, "gp": gp.detach()}

    def generator(self) -> Generator:
        return self.gen


# --- training under a CPU budget ---------------------------------------------------------------
BASELINES: dict[str, dict[str, Any]] = {
    # size: "train" = the pixelforge configs' training size (32 px), "native" = the data's own
    "examples-dcgan": {"cls": ExamplesDCGAN, "size": "train",
                       "about": "pytorch/examples DCGAN recipe (fp32, BCE, Adam 2e-4 (0.5, 0.999))"},
    "wgan-gp-mlp": {"cls": WGANGPMLP, "size": "native",
                    "about": "PyTorch-GAN WGAN-GP MLP recipe (fp32, n_critic 5, GP 10)"},
}


def train_baseline(name: str, images: torch.Tensor, *, budget_minutes: float, max_steps: int = 10**9,
                   seed: int = 0, log_path: str | Path | None = None, log_every: int = 50
                   ) -> tuple[Generator, dict[str, Any]]:
    """Train baseline `name` on images [N, C, H, W] (uint8, or float in [-1, 1]) until
    `budget_minutes` of process CPU time (or `max_steps` batches) are used; shuffled batches of 64,
    the last partial batch of each epoch dropped; uint8 batches are scaled as x / 127.5 - 1.

    Returns (the generator, {steps, seconds, cpu_seconds, images_per_s, last losses})."""
    if name not in BASELINES:
        raise UserError(f"unknown baseline {name!r}; choose one of: {', '.join(BASELINES)}")
    n, c, h, w = images.shape
    if h != w or n < BATCH:
        raise UserError(f"baseline {name}: needs square images and >= {BATCH} of them "
                        f"(got {tuple(images.shape)})")
    torch.manual_seed(seed)
    model = BASELINES[name]["cls"](h, c)
    g = torch.Generator().manual_seed(seed)
    log = open(log_path, "a") if log_path else None  # noqa: SIM115
    cpu0, t0, step, losses = time.process_time(), time.perf_counter(), 0, {}
    try:
        while step < max_steps and time.process_time() - cpu0 < budget_minutes * 60:
            for idx in torch.randperm(n, generator=g)[: n - n % BATCH].split(BATCH):
                real = images[idx]
                real = real.float().div_(127.5).sub_(1.0) if real.dtype == torch.uint8 else real
                out = model.train_step(real, torch.zeros(BATCH, dtype=torch.long), step)
                step += 1
                losses = {k: float(v) for k, v in out.items()}
                if not all(math.isfinite(v) for v in losses.values()):
                    raise TrainingDiverged(f"{name} diverged at step {step}: {losses}")
                if log and step % log_every == 0:
                    log.write(json.dumps({"step": step, **{k: round(v, 6) for k, v in losses.items()}})
                              + "\n")
                if step >= max_steps or time.process_time() - cpu0 >= budget_minutes * 60:
                    break
    finally:
        if log:
            log.close()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    stats = {"steps": step, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
             "images_per_s": step * BATCH / max(wall, 1e-9),
             "images_per_cpu_s": step * BATCH / max(cpu, 1e-9), "last_logs": losses}
    return model.generator().eval(), stats
