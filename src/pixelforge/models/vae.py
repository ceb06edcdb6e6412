"""VAE (Kingma & Welling 2014), beta-VAE (Higgins et al. 2017), CVAE (Sohn et al. 2015) models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.errors import UserError
from pixelforge.losses.vae import RECON_NLLS
from pixelforge.models.base import Generator, register_family

ARCHS = ("mlp", "conv")


def conv_stages(image_size: int) -> int:
    """Stride-2 stages that bring image_size down to <= 7 px (28 -> 7, 32 -> 4, 64 -> 4)."""
    n, s = 0, image_size
    while s % 2 == 0 and s > 7:
        s, n = s // 2, n + 1
    if n == 0:
        raise UserError(f"model.image_size: the conv VAE needs an even size (got {image_size})")
    return n


class ConvEncoderBody(nn.Module):
    """Stride-2 4x4 convs (width doubling, capped at 8x) with SiLU: [N, C, S, S] -> [N, F]."""

    def __init__(self, image_size: int, in_channels: int, width: int) -> None:
        super().__init__()
        n = conv_stages(image_size)
        layers: list[nn.Module] = []
        ch_in, ch = in_channels, width
        for i in range(n):
            ch = width * min(2**i, 8)
            layers += [nn.Conv2d(ch_in, ch, 4, 2, 1), nn.SiLU()]
            ch_in = ch
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.out_features = ch * (image_size >> n) ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # [N, C, S, S] -> [N, ch * (S/2^n)^2]


class ConvDecoderBody(nn.Module):
    """Linear to a (S/2^n)^2 map, then stride-2 4x4 transposed convs back to [N, C, S, S]."""

    def __init__(self, image_size: int, in_features: int, out_channels: int, width: int) -> None:
        super().__init__()
        n = conv_stages(image_size)
        self.base = image_size >> n
        self.ch = width * min(2 ** (n - 1), 8)
        self.stem = nn.Sequential(nn.Linear(in_features, self.ch * self.base**2), nn.SiLU())
        layers: list[nn.Module] = []
        ch = self.ch
        for i in reversed(range(n)):
            nxt = out_channels if i == 0 else width * min(2 ** (i - 1), 8)
            layers.append(nn.ConvTranspose2d(ch, nxt, 4, 2, 1))
            if i:
                layers.append(nn.SiLU())
            ch = nxt
        self.body = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.stem(h).view(-1, self.ch, self.base, self.base)  # [N, ch, b, b]
        return self.body(h)  # [N, C, S, S]


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with SiLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class VAE(Generator):
    """q(z|x) = N(mu, diag exp(logvar)), p(z) = N(0, I), p(x|z) Bernoulli (logits) or Gaussian.

    `beta` weighs the KL term and `kl_warmup` anneals it from 0 over that many steps (the
    objective the model is trained with is part of its config). For 'gaussian' the decoder
    has a learned per-channel log standard deviation on the [-1, 1] pixel scale.
    """

    conditional = False

    def __init__(self, image_size: int = 28, channels: int = 1, latent_dim: int = 32,
                 likelihood: str = "bernoulli", arch: str = "mlp", width: int = 512,
                 beta: float = 1.0, kl_warmup: int = 0) -> None:
        super().__init__()
        self._build(image_size, channels, latent_dim, likelihood, arch, width, beta, kl_warmup, 0)

    def _build(self, image_size: int, channels: int, latent_dim: int, likelihood: str, arch: str,
               width: int, beta: float, kl_warmup: int, num_classes: int) -> None:
        if likelihood not in RECON_NLLS:
            raise UserError(f"model.params.likelihood: choose one of {', '.join(RECON_NLLS)} "
                            f"(got {likelihood!r})")
        if arch not in ARCHS:
            raise UserError(f"model.params.arch: choose one of {', '.join(ARCHS)} (got {arch!r})")
        if beta < 0 or kl_warmup < 0:
            raise UserError("model.params.beta and model.params.kl_warmup must be >= 0")
        if self.conditional and num_classes < 1:
            raise UserError(f"{self.family}: needs labelled data (model.params.num_classes >= 1)")
        if not self.conditional:
            num_classes = 0
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.likelihood, self.arch, self.beta, self.kl_warmup = likelihood, arch, beta, kl_warmup
        self.num_classes = num_classes
        k, d = self.num_classes, channels * image_size * image_size
        if arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), mlp([d + k, width, width, 2 * latent_dim]))
            self.decoder = mlp([latent_dim + k, width, width, d])
        else:
            body = ConvEncoderBody(image_size, channels + k, width)
            self.encoder = nn.Sequential(body, nn.Linear(body.out_features, 2 * latent_dim))
            self.decoder = ConvDecoderBody(image_size, latent_dim + k, channels, width)
        self.log_scale = nn.Parameter(torch.zeros(channels),
                                      requires_grad=likelihood == "gaussian")

    # -- conditioning ---------------------------------------------------------------------------
    def default_labels(self, n: int, device: torch.device | None = None) -> torch.Tensor | None:
        """Class i % K for the i-th sample of a conditional model (None when unconditional)."""
        return torch.arange(n, device=device) % self.num_classes if self.num_classes else None

    def _onehot(self, labels: torch.Tensor | None, n: int, device) -> torch.Tensor:
        if labels is None:
            labels = self.default_labels(n, device)
        return F.one_hot(labels.long().to(device), self.num_classes).float()  # [N, K]

    # -- the two halves -------------------------------------------------------------------------
    def encode(self, images: torch.Tensor, labels: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images [N, C, H, W] in [-1, 1] -> (mu, logvar), each [N, latent_dim]."""
        x = images
        if self.num_classes:
            y = self._onehot(labels, len(x), x.device).to(x.dtype)
            if self.arch == "mlp":
                x = torch.cat([x.flatten(1), y], 1)  # [N, D + K]
            else:
                maps = y[:, :, None, None].expand(-1, -1, *x.shape[2:])  # [N, K, H, W]
                x = torch.cat([x, maps], 1)  # [N, C + K, H, W]
        mu, logvar = self.encoder(x).chunk(2, dim=1)  # [N, 2Z] -> 2 x [N, Z]
        return mu, logvar.clamp(-30.0, 20.0)

    def decode_raw(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Latents [N, Z] -> decoder output [N, C, H, W]: logits (bernoulli) or means (gaussian)."""
        if self.num_classes:
            z = torch.cat([z, self._onehot(labels, len(z), z.device).to(z.dtype)], 1)  # [N, Z + K]
        out = self.decoder(z)
        return out.view(-1, self.channels, self.image_size, self.image_size)  # [N, C, H, W]

    def to_images(self, out: torch.Tensor) -> torch.Tensor:
        """Decoder output -> images in [-1, 1] (Bernoulli means 2p - 1, Gaussian means clamped)."""
        if self.likelihood == "bernoulli":
            return torch.sigmoid(out) * 2.0 - 1.0
        return out.clamp(-1.0, 1.0)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Latents [N, Z] -> images [N, C, H, W] in [-1, 1]."""
        return self.to_images(self.decode_raw(z, labels))

    def recon_nll(self, out: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image [N] in nats; images in [-1, 1] ({-1, 1} when binarized)."""
        return RECON_NLLS[self.likelihood](out, images, self.log_scale)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(z, labels)  # [N, Z] -> [N, C, H, W]


class BetaVAE(VAE):
    """beta-VAE: the same model with a heavier KL (default beta=4) and a KL warm-up."""

    def __init__(self, image_size: int = 28, channels: int = 1, latent_dim: int = 32,
                 likelihood: str = "bernoulli", arch: str = "mlp", width: int = 512,
                 beta: float = 4.0, kl_warmup: int = 2000) -> None:
        super().__init__(image_size, channels, latent_dim, likelihood, arch, width, beta, kl_warmup)


class CVAE(VAE):
    """Conditional VAE: one-hot labels enter the encoder and the decoder; samples cycle classes."""

    conditional = True

    def __init__(self, image_size: int = 28, channels: int = 1, latent_dim: int = 32,
                 likelihood: str = "bernoulli", arch: str = "mlp", width: int = 512,
                 beta: float = 1.0, kl_warmup: int = 0, num_classes: int = 10) -> None:
        Generator.__init__(self)
        self._build(image_size, channels, latent_dim, likelihood, arch, width, beta, kl_warmup,
                    num_classes)


register_family("vae", kind="vae", generator=VAE)
register_family("beta-vae", kind="vae", generator=BetaVAE)
register_family("cvae", kind="vae", generator=CVAE)
