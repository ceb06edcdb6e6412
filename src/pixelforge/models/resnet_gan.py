"""SNGAN-style residual GAN (Miyato et al. 2018): up-ResBlock G, spectrally normalised down-ResBlock
D with a projection head (Miyato & Koyama 2018) for class-conditional data; 16-64+ px, any
b * 2^k with a 4-7 px base map (28 px MNIST without resampling)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.models.base import Generator, PixelforgeModule, register_family
from pixelforge.nn.layers import (
    ConditionalBatchNorm2d,
    ProjectionHead,
    SelfAttention,
    apply_spectral_norm,
    check_attention,
    check_aux_classifier,
    geometry,
    wants_channels_last,
)


def _norm(bn: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    return bn(x, labels) if isinstance(bn, ConditionalBatchNorm2d) else bn(x)


def _init(module: nn.Module) -> None:
    """Xavier-uniform weights (gain sqrt(2) on the residual 3x3 convs), zero biases."""
    cbn = {id(e) for m in module.modules() if isinstance(m, ConditionalBatchNorm2d)
           for e in (m.gain, m.bias)}  # these keep their 1 / 0
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            residual = m.kernel_size == (3, 3) if isinstance(m, nn.Conv2d) else False
            nn.init.xavier_uniform_(m.weight, math.sqrt(2) if residual else 1.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding) and id(m) not in cbn:
            nn.init.xavier_uniform_(m.weight)


class UpBlock(nn.Module):
    """BN, ReLU, nearest x2, conv3x3, BN, ReLU, conv3x3; shortcut: conv1x1 then nearest x2
    (the same maths as upsample-then-1x1, on a quarter of the pixels)."""

    def __init__(self, cin: int, cout: int, num_classes: int = 0) -> None:
        super().__init__()

        def bn(c: int) -> nn.Module:
            return ConditionalBatchNorm2d(c, num_classes) if num_classes else nn.BatchNorm2d(c)

        self.bn1, self.conv1 = bn(cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.bn2, self.conv2 = bn(cout), nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(F.relu(_norm(self.bn1, x, labels)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(_norm(self.bn2, self.conv1(h), labels)))  # [N, Cout, 2H, 2W]
        return h + F.interpolate(self.shortcut(x), scale_factor=2, mode="nearest")


class DownBlock(nn.Module):
    """ReLU, conv3x3, ReLU, conv3x3, avg-pool /2 (if `down`); shortcut: avg-pool then conv1x1
    when the shape changes. The `optimized` first block skips the leading ReLU (its input is the
    image) and always has the learned shortcut."""

    def __init__(self, cin: int, cout: int, down: bool = True, optimized: bool = False) -> None:
        super().__init__()
        self.down, self.optimized = down, optimized
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if optimized or down or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.optimized else F.relu(x))
        h = self.conv2(F.relu(h))
        s = x
        if self.down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        if self.shortcut is not None:
            s = self.shortcut(s)
        return h + s  # [N, Cout, H/2, W/2] (or H, W)


class ResNetGenerator(Generator):
    """z -> linear -> [width, b, b] (b = 4..7, see geometry) -> up-ResBlocks to image_size -> BN,
    ReLU, conv3x3, tanh.

    Class-conditional (num_classes > 0) through conditional BatchNorm in every block.
    `attention`: feature-map size after which a SelfAttention block runs (0: none).
    `g_spectral_norm`: spectral norm on G's layers too (SAGAN, BigGAN).
    """

    def __init__(self, image_size: int = 32, channels: int = 3, latent_dim: int = 128,
                 width: int = 128, num_classes: int = 0, attention: int = 0,
                 g_spectral_norm: bool = False) -> None:
        super().__init__()
        self.base, stages = geometry(image_size, "resnet-gan")
        check_attention(attention, image_size, base=self.base)
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.num_classes, self.width = num_classes, width
        self.linear = nn.Linear(latent_dim, self.base**2 * width)
        self.blocks = nn.ModuleList([UpBlock(width, width, num_classes) for _ in range(stages)])
        # attention runs before block attn_at: on the linear layer's base map (0), block 0's (1)...
        self.attn_at = int(math.log2(attention // self.base)) if attention else -1
        self.attention = SelfAttention(width) if attention else None
        self.bn = nn.BatchNorm2d(width)
        self.out = nn.Conv2d(width, channels, 3, 1, 1)
        _init(self)
        if g_spectral_norm:
            apply_spectral_norm(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if (labels is None) != (self.num_classes == 0):
            raise ValueError("resnet-gan generator: pass labels exactly when num_classes > 0")
        h = self.linear(z).view(z.shape[0], self.width, self.base, self.base)  # [N, W, b, b]
        if wants_channels_last(self.out):
            h = h.contiguous(memory_format=torch.channels_last)
        for i, block in enumerate(self.blocks):
            if i == self.attn_at:
                h = self.attention(h)
            h = block(h, labels)  # [N, W, 2H, 2W]
        return torch.tanh(self.out(F.relu(self.bn(h))))  # [N, C, S, S]


class ResNetDiscriminator(PixelforgeModule):
    """Down-ResBlocks (the first "optimized") to the base map, one more block there, ReLU, global
    sum pooling, then logit = linear(h) (+ <embed(y), h> when class-conditional).

    `spectral_norm` (default on) normalises every layer; `projection` uses the labels through the
    projection term; `aux_classifier` adds an AC-GAN head and forward then returns
    (logits [N], class_logits [N, K]).
    """

    def __init__(self, image_size: int = 32, channels: int = 3, width: int = 128,
                 num_classes: int = 0, attention: int = 0, spectral_norm: bool = True,
                 projection: bool = True, aux_classifier: bool = False) -> None:
        super().__init__()
        base, stages = geometry(image_size, "resnet-gan")
        check_attention(attention, image_size, base=base)
        check_aux_classifier(aux_classifier, num_classes)
        self.num_classes = num_classes
        blocks: list[nn.Module] = [DownBlock(channels, width, optimized=True)]
        size = image_size // 2
        for _ in range(stages - 1):
            if size == attention:
                blocks.append(SelfAttention(width))
            blocks.append(DownBlock(width, width))
            size //= 2
        if size == attention:  # the base map
            blocks.append(SelfAttention(width))
        blocks.append(DownBlock(width, width, down=False))
        self.blocks = nn.Sequential(*blocks)
        self.head = ProjectionHead(width, num_classes, projection=projection,
                                   aux_classifier=aux_classifier)
        _init(self)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.blocks(x)).sum((2, 3))  # [N, W]
        return self.head(h, labels)  # [N] logits (, [N, K] class logits)


register_family("resnet-gan", kind="gan", generator=ResNetGenerator,
                discriminator=ResNetDiscriminator)
