"""Reusable GAN blocks: self-attention, class-conditional BatchNorm, spectral norm, projection head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from pixelforge.errors import UserError


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019): every position attends over all positions.

    Query/key are 1x1 convolutions to channels/8, values to channels/2 (then a 1x1 conv back to
    channels); the softmax runs over positions and the result is added back scaled by a learned
    gamma that starts at 0, so a fresh block is the identity and the network learns how much
    non-local context to use. Scores are scaled by 1/sqrt(d) (scaled dot-product attention).
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        qk, v = max(1, channels // reduction), max(1, channels // 2)
        self.query = nn.Conv2d(channels, qk, 1, bias=False)
        self.key = nn.Conv2d(channels, qk, 1, bias=False)
        self.value = nn.Conv2d(channels, v, 1, bias=False)
        self.out = nn.Conv2d(v, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))  # 0-dim: keeps bf16 activations bf16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape

        def tokens(t: torch.Tensor) -> torch.Tensor:  # [N, D, H, W] -> [N, 1, HW, D]
            return t.permute(0, 2, 3, 1).reshape(n, 1, h * w, t.shape[1])  # a view if NHWC

        o = F.scaled_dot_product_attention(tokens(self.query(x)), tokens(self.key(x)),
                                           tokens(self.value(x)))  # [N, 1, HW, Dv]
        o = o.view(n, h, w, -1).permute(0, 3, 1, 2)  # [N, Dv, H, W], channels_last memory
        return x + self.gamma * self.out(o)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine, then a per-class gain and bias looked up from embeddings
    (gain starts at 1, bias at 0, so a fresh layer is plain BatchNorm for every class)."""

    spectral_norm_exempt = True  # the gains are not a linear map; SN would shrink them toward 0

    def __init__(self, channels: int, num_classes: int, eps: float = 1e-5,
                 momentum: float = 0.1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.bn(x)  # [N, C, H, W]
        gain = self.gain(labels).to(h.dtype)[:, :, None, None]  # [N, C, 1, 1]
        bias = self.bias(labels).to(h.dtype)[:, :, None, None]
        return torch.addcmul(bias, h, gain)


_SN_TYPES = (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding)


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """`module` with its weight spectrally normalised (one power iteration per training forward)
    when `enabled`; unchanged otherwise."""
    if enabled and not parametrize.is_parametrized(module, "weight"):
        return spectral_norm(module)
    return module


def apply_spectral_norm(model: nn.Module) -> nn.Module:
    """Spectral norm (Miyato et al. 2018) on every convolution, Linear and Embedding with a
    weight, skipping subtrees whose module sets `spectral_norm_exempt = True`."""

    def visit(m: nn.Module) -> None:
        if getattr(m, "spectral_norm_exempt", False):
            return
        if isinstance(m, _SN_TYPES) and getattr(m, "weight", None) is not None:
            maybe_spectral_norm(m, True)
        for child in m.children():
            visit(child)

    visit(model)
    return model


def spectral_norm_weights(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every module whose weight is spectrally normalised."""
    return [(n, m) for n, m in model.named_modules() if parametrize.is_parametrized(m, "weight")]


class ProjectionHead(nn.Module):
    """Discriminator output from pooled features h [N, F]: logit = linear(h) + <embed(y), h>
    (the projection discriminator, Miyato & Koyama 2018), plus optional AC-GAN class logits.

    `linear=False` leaves the unconditional term to the caller (passed in as `logit`), for
    networks whose last layer already computes it. Without labels the projection term is skipped
    only when there is none; a projection head called without labels is an error.
    """

    def __init__(self, features: int, num_classes: int = 0, *, linear: bool = True,
                 projection: bool = True, aux_classifier: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1) if linear else None
        self.embed = nn.Embedding(num_classes, features) if num_classes and projection else None
        self.classifier = nn.Linear(features, num_classes) if aux_classifier else None

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None = None,
                logit: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.linear is not None:
            logit = self.linear(h).squeeze(1)  # [N]
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional (projection): "
                                 "call it as D(x, labels)")
            logit = logit + (self.embed(labels).to(h.dtype) * h).sum(1)  # [N]
        if self.classifier is not None:
            return logit, self.classifier(h)  # [N], [N, K]
        return logit


def check_aux_classifier(aux_classifier: bool, num_classes: int) -> None:
    if aux_classifier and num_classes <= 0:
        raise UserError("model.params.aux_classifier: an AC-GAN class head needs labelled data "
                        "(model.num_classes > 0)")


def geometry(image_size: int, family: str) -> tuple[int, int]:
    """(base, stages): the smallest feature map (4-7 px) and the number of x2 stages from it to
    image_size, e.g. 32 -> (4, 3), 28 -> (7, 2), 48 -> (6, 3). Native sizes such as MNIST's 28 px
    need no resampling (which blurs digits: the round trip 28 -> 32 -> 28 alone scores FD ~23 in
    the cnn features, docs/benchmarks.md). `family` names the model in the error."""
    base, stages = image_size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, stages = base // 2, stages + 1
    if image_size < 16 or base > 7:
        raise UserError(f"model.image_size: {family} needs a size >= 16 of the form b * 2^k with "
                        f"b in 4..7, e.g. 28, 32, 48, 64 (got {image_size})")
    return base, stages


def attention_resolutions(image_size: int, base: int = 4) -> list[int]:
    """Feature-map sizes a SelfAttention block can sit at: base, 2 base, ..., image_size / 2."""
    sizes, r = [], base
    while r < image_size:
        sizes.append(r)
        r *= 2
    return sizes


def check_attention(attention: int, image_size: int, base: int = 4) -> int:
    """0 (none) or one of attention_resolutions(image_size, base); else a UserError."""
    if attention and attention not in attention_resolutions(image_size, base):
        allowed = ", ".join(str(r) for r in attention_resolutions(image_size, base))
        raise UserError(f"model.params.attention: {attention} is not a feature-map size of a "
                        f"{image_size}px model; use 0 (none) or one of {allowed}")
    return attention


def wants_channels_last(module: nn.Module) -> bool:
    """True when the module's first 4-D parameter is stored channels_last (not also contiguous),
    i.e. after .to(memory_format=torch.channels_last); reads no parametrized weight."""
    for p in module.parameters():
        if p.dim() == 4:
            return p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
    return False
