"""StyleGAN2-lite (Karras et al. 2020): a mapping network z -> w, a skip-output synthesis network of
weight-demodulated convolutions, and a residual D with minibatch stddev. Plain PyTorch ops only,
so it trains on CPU, runs under bf16 autocast and exports to ONNX."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.errors import UserError
from pixelforge.models.base import Generator, PixelforgeModule, register_family
from pixelforge.nn.layers import (
    ProjectionHead,
    apply_spectral_norm,
    check_aux_classifier,
    geometry,
)

ACT_GAIN = math.sqrt(2.0)  # keeps activation variance through LeakyReLU(0.2) roughly constant


def _channels(width: int, res: int, image_size: int) -> int:
    """Feature maps at resolution `res`: `width` at full size, doubling per halving, capped at 8x."""
    return min(8 * width, width * image_size // res)


def _check_width(width: int) -> None:
    if width < 1:
        raise UserError(f"model.params.width must be >= 1 (got {width})")


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row of [N, D] to unit root-mean-square."""
    return x * torch.rsqrt(x.square().mean(1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """z (+ class embedding) -> w: pixel-norm, then `layers` Linear + LeakyReLU(0.2)."""

    def __init__(self, latent_dim: int, layers: int, num_classes: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        dim_in = latent_dim * (2 if num_classes else 1)
        mlp: list[nn.Module] = []
        for i in range(layers):
            mlp += [nn.Linear(dim_in if i == 0 else latent_dim, latent_dim), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*mlp)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = pixel_norm(z)  # [N, Z]
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: call it as G(z, labels)")
            x = torch.cat([x, pixel_norm(self.embed(labels))], 1)  # [N, 2Z]
        return self.net(x)  # [N, W]


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled per sample by a style s = A(w), with optional
    weight demodulation. Computed as scale-input -> shared-weight conv -> scale-output, which
    equals convolving with the per-sample weight w'[o,i] = d[o] * s[i] * w[o,i] but needs no
    grouped convolution, so it is plain conv2d on CPU and in ONNX."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, kernel_size: int = 3,
                 demodulate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.weight_gain = 1.0 / math.sqrt(in_ch * kernel_size * kernel_size)  # equalized lr
        self.affine = nn.Linear(w_dim, in_ch)
        nn.init.ones_(self.affine.bias)  # styles start near 1: the identity modulation
        self.padding = kernel_size // 2
        self.demodulate = demodulate

    def scaled_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain  # [O, I, k, k]

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # [N, I]
        weight = self.scaled_weight()
        y = F.conv2d(x * s[:, :, None, None].to(x.dtype), weight.to(x.dtype), padding=self.padding)
        if self.demodulate:
            # d[n, o] = 1 / sqrt(sum_{i,kh,kw} (s[n, i] w[o, i, kh, kw])^2)
            wsq = weight.square().sum((2, 3))  # [O, I]
            d = torch.rsqrt(s.square() @ wsq.t().to(s.dtype) + 1e-8)  # [N, O]
            y = y * d[:, :, None, None].to(y.dtype)
        return y  # [N, O, H, W]


class SynthesisLayer(nn.Module):
    """(2x bilinear upsample) -> modulated 3x3 conv -> + scaled noise -> + bias -> LeakyReLU."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, up: bool) -> None:
        super().__init__()
        self.up = up
        self.conv = ModulatedConv2d(in_ch, out_ch, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        # eval-mode noise (StyleGAN's noise_mode='const'): saved with the weights, so sampling and
        # ONNX export are deterministic
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        y = self.conv(x, w)  # [N, O, H, W]
        if self.training:
            noise = torch.randn(y.shape[0], 1, y.shape[2], y.shape[3], device=y.device,
                                dtype=y.dtype)
        else:
            noise = self.noise_const.to(y.dtype)
        y = y + noise * self.noise_strength.to(y.dtype) + self.bias.to(y.dtype)[:, None, None]
        return F.leaky_relu(y, 0.2) * ACT_GAIN


class ToRGB(nn.Module):
    """Modulated 1x1 conv (no demodulation) + bias: one skip output image per resolution."""

    def __init__(self, in_ch: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, channels, w_dim, kernel_size=1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y = self.conv(x, w)
        return y + self.bias.to(y.dtype)[:, None, None]


class SynthesisNetwork(nn.Module):
    """Learned b x b constant (b = 4..7, see geometry) -> per resolution: [up-conv], conv, toRGB;
    RGB outputs upsampled and summed (StyleGAN2's skip generator), then tanh. Takes one w per
    style input: ws [N, num_ws, W]."""

    def __init__(self, image_size: int, channels: int, w_dim: int, width: int) -> None:
        super().__init__()
        base, stages = geometry(image_size, "stylegan-lite")
        ch = _channels(width, base, image_size)
        self.const = nn.Parameter(torch.randn(1, ch, base, base))
        self.convs = nn.ModuleList([SynthesisLayer(ch, ch, w_dim, base, up=False)])
        self.torgbs = nn.ModuleList([ToRGB(ch, channels, w_dim)])
        for s in range(1, stages + 1):
            res = base * 2**s
            out = _channels(width, res, image_size)
            self.convs.append(SynthesisLayer(ch, out, w_dim, res, up=True))
            self.convs.append(SynthesisLayer(out, out, w_dim, res, up=False))
            self.torgbs.append(ToRGB(out, channels, w_dim))
            ch = out
        # each toRGB reads the w of the next conv (the last one gets its own): convs + 1 styles
        self.num_ws = len(self.convs) + 1

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)  # [N, C, b, b]
        x = self.convs[0](x, ws[:, 0])
        img = self.torgbs[0](x, ws[:, 1])
        for b in range(1, len(self.torgbs)):
            i = 2 * b - 1
            x = self.convs[i](x, ws[:, i])
            x = self.convs[i + 1](x, ws[:, i + 1])
            img = F.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False)
            img = img + self.torgbs[b](x, ws[:, i + 2])
        # tanh keeps the package's Generator contract (images in [-1, 1]); StyleGAN2 itself
        # leaves the sum linear and clamps when sampling
        return torch.tanh(img)  # [N, C, S, S]


class StyleGANLiteGenerator(Generator):
    """Mapping network + demodulated-conv synthesis; style mixing while training, and a running
    mean of w (w_avg) for truncation in W space."""

    def __init__(self, image_size: int = 32, channels: int = 3, latent_dim: int = 128,
                 num_classes: int = 0, width: int = 32, mapping_layers: int = 4,
                 style_mixing: float = 0.9, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        _check_width(width)
        if mapping_layers < 1:
            raise UserError(f"model.params.mapping_layers must be >= 1 (got {mapping_layers})")
        if not 0 <= style_mixing <= 1:
            raise UserError(f"model.params.style_mixing must be in [0, 1] (got {style_mixing})")
        if not 0 <= w_avg_beta < 1:
            raise UserError(f"model.params.w_avg_beta must be in [0, 1) (got {w_avg_beta})")
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.num_classes, self.style_mixing, self.w_avg_beta = num_classes, style_mixing, w_avg_beta
        self.mapping = MappingNetwork(latent_dim, mapping_layers, num_classes)
        self.synthesis = SynthesisNetwork(image_size, channels, latent_dim, width)
        self.num_ws = self.synthesis.num_ws
        self.register_buffer("w_avg", torch.zeros(latent_dim))

    def _broadcast(self, w: torch.Tensor) -> torch.Tensor:
        return w[:, None, :].expand(-1, self.num_ws, -1)  # [N, num_ws, W]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        w = self.mapping(z, labels)  # [N, W]
        ws = self._broadcast(w)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
            if self.style_mixing > 0 and float(torch.rand(())) < self.style_mixing:
                # from a random layer on, styles come from a second latent (mixing regularization)
                cutoff = int(torch.randint(1, self.num_ws, ()))
                w2 = self.mapping(torch.randn_like(z), labels)
                ws = torch.cat([ws[:, :cutoff], self._broadcast(w2)[:, cutoff:]], 1)
        return self.synthesis(ws)

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                   truncation: float | None = None) -> torch.Tensor:
        """Images for z; truncation psi pulls w toward w_avg: w = w_avg + psi (w - w_avg)."""
        if truncation is None:
            return self(z, labels)
        w = self.mapping(z, labels).float()
        w = self.w_avg + truncation * (w - self.w_avg)
        return self.synthesis(self._broadcast(w))


class DBlock(nn.Module):
    """Residual block: two 3x3 convs + 2x average-pool, with a pooled 1x1 skip; sum / sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.conv1(x), 0.2)
        y = F.avg_pool2d(F.leaky_relu(self.conv2(y), 0.2), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2.0)  # [N, O, H/2, W/2]


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append one channel: the feature stddev across groups of samples, averaged (Karras 2018).
    Lets D see a lack of variety in a batch."""
    n, _, h, w = x.shape
    g = math.gcd(n, group_size)
    y = x.float().reshape(g, -1, *x.shape[1:])  # [G, M, C, H, W]: sample i in group i % M
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean((1, 2, 3))  # [M]
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w).to(x.dtype)  # [N, 1, H, W]
    return torch.cat([x, y], 1)


class StyleGANLiteDiscriminator(PixelforgeModule):
    """fromRGB -> residual blocks down to the b x b base map -> minibatch stddev -> conv -> dense -> logit; for
    class-conditional D a projection term sum(embed(y) * h) (Miyato & Koyama 2018, `projection`)
    and/or an AC-GAN class head (`aux_classifier`)."""

    def __init__(self, image_size: int = 32, channels: int = 3, num_classes: int = 0,
                 width: int = 32, spectral_norm: bool = False, projection: bool = True,
                 aux_classifier: bool = False, mbstd_group: int = 4) -> None:
        super().__init__()
        _check_width(width)
        check_aux_classifier(aux_classifier, num_classes)
        base, stages = geometry(image_size, "stylegan-lite")
        if mbstd_group < 1:
            raise UserError(f"model.params.mbstd_group must be >= 1 (got {mbstd_group})")
        self.num_classes, self.mbstd_group = num_classes, mbstd_group
        ch = _channels(width, image_size, image_size)
        self.from_rgb = nn.Conv2d(channels, ch, 1)
        blocks = []
        for s in range(stages, 0, -1):
            out = _channels(width, base * 2 ** (s - 1), image_size)
            blocks.append(DBlock(ch, out))
            ch = out
        self.blocks = nn.Sequential(*blocks)
        self.conv = nn.Conv2d(ch + 1, ch, 3, padding=1)
        self.fc = nn.Linear(ch * base**2, ch)
        self.head = ProjectionHead(ch, num_classes, projection=projection,
                                   aux_classifier=aux_classifier)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = F.leaky_relu(self.from_rgb(x), 0.2)
        h = self.blocks(h)  # [N, C, b, b]
        h = F.leaky_relu(self.conv(minibatch_stddev(h, self.mbstd_group)), 0.2)
        h = F.leaky_relu(self.fc(h.flatten(1)), 0.2)  # [N, C]
        return self.head(h, labels)  # logits [N] (, class logits [N, K])


register_family("stylegan-lite", kind="gan", generator=StyleGANLiteGenerator,
                discriminator=StyleGANLiteDiscriminator)
