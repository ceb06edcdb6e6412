"""DCGAN (Radford, Metz & Chintala 2015): all-convolutional G and D with BatchNorm; any size
b * 2^k >= 16 with b in 4..7 (16, 20, 24, 28, 32, 48, 64, 128 px, ...)."""

from __future__ import annotations

import torch
from torch import nn

from pixelforge.errors import UserError
from pixelforge.models.base import Generator, PixelforgeModule, register_family
from pixelforge.nn.gemm import Conv2d, ConvTranspose2d, run_sequential  # CPU fast-path layers
from pixelforge.nn.layers import (
    ProjectionHead,
    SelfAttention,
    apply_spectral_norm,
    check_attention,
    check_aux_classifier,
    geometry,
)


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) convolutions (and projection embeddings), N(1, 0.02) BatchNorm scales, as in
    the paper."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


UPSAMPLE = ("deconv", "resize")


def up2(c_in: int, c_out: int, how: str) -> list[nn.Module]:
    """The layers that double the map: a 4x4 stride-2 transposed conv, or nearest x2 + 3x3 conv."""
    if how == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), Conv2d(c_in, c_out, 3, 1, 1,
                                                                     bias=False)]
    return [ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]


class DCGANGenerator(Generator):
    """z -> base x base map (4x4 at powers of two, 7x7 at 28 px) -> stride-2 transposed convs,
    halving width each stage -> tanh.

    Class-conditional (num_classes > 0): a learned class embedding of size latent_dim is
    concatenated to z (so the first layer sees [z, e(y)] and BatchNorm folding still applies).
    `attention`: feature-map size after which a SelfAttention block runs (0: none).
    `g_spectral_norm`: spectral norm on every layer (SAGAN).
    `upsample`: "deconv" (the paper's 4x4 stride-2 transposed convs) or "resize" (nearest x2
    then a 3x3 conv, Odena et al. 2016): every output pixel then sees the same number of kernel
    taps, so no 2-px checkerboard can come from the upsampling itself.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, latent_dim: int = 100,
                 width: int = 64, num_classes: int = 0, attention: int = 0,
                 g_spectral_norm: bool = False, upsample: str = "deconv") -> None:
        super().__init__()
        if upsample not in UPSAMPLE:
            raise UserError(f"model.params.upsample={upsample!r}: use one of "
                            f"{', '.join(UPSAMPLE)}")
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.num_classes = num_classes
        size, n = geometry(image_size, "dcgan")
        check_attention(attention, image_size, base=size)
        ch = width * 2 ** (n - 1)
        z_in = 2 * latent_dim if num_classes else latent_dim
        layers: list[nn.Module] = [ConvTranspose2d(z_in, ch, size, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(n - 1):
            if size == attention:
                layers.append(SelfAttention(ch))
            layers += [*up2(ch, ch // 2, upsample), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
            size *= 2
        if size == attention:
            layers.append(SelfAttention(ch))
        layers += [*up2(ch, channels, upsample), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)
        if num_classes:
            self.embed = nn.Embedding(num_classes, latent_dim)  # N(0, 1) init, like z
            self.embed.spectral_norm_exempt = True  # an input lookup, not a layer
        if g_spectral_norm:
            apply_spectral_norm(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None or self.num_classes:
            if labels is None or not self.num_classes:
                raise ValueError("dcgan generator: pass labels exactly when num_classes > 0")
            z = torch.cat([z, self.embed(labels).to(z.dtype)], 1)  # [N, 2Z]
        return run_sequential(self.net, z[:, :, None, None])  # [N, Z, 1, 1] -> [N, C, S, S]


class DCGANDiscriminator(PixelforgeModule):
    """Stride-2 convs with LeakyReLU(0.2) (BatchNorm after the first) down to the base map (4x4,
    or 7x7 at 28 px), then one logit.

    `spectral_norm`: SN on every layer and no BatchNorm (SNGAN). Class-conditional
    (num_classes > 0): a projection term <embed(y), h> on the flattened base-map features
    (`projection`, default on); `aux_classifier` adds an AC-GAN head and forward then returns
    (logits [N], class_logits [N, K]). `attention` as in the generator. `d_width` (0: `width`)
    sizes D alone: under DP-SGD the noise norm grows with the square root of D's parameter
    count while the clipped signal does not, so a private D is made smaller than its G.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64,
                 num_classes: int = 0, attention: int = 0, spectral_norm: bool = False,
                 projection: bool = True, aux_classifier: bool = False,
                 d_width: int = 0) -> None:
        super().__init__()
        if d_width < 0:
            raise UserError(f"model.params.d_width={d_width}: must be 0 (same as width) or more")
        width = d_width or width
        base, n = geometry(image_size, "dcgan")
        check_attention(attention, image_size, base=base)
        check_aux_classifier(aux_classifier, num_classes)
        self.num_classes = num_classes
        bias = spectral_norm  # without BatchNorm the convs get their biases back
        layers: list[nn.Module] = [Conv2d(channels, width, 4, 2, 1, bias=bias),
                                   nn.LeakyReLU(0.2, True)]
        ch, size = width, image_size // 2
        for _ in range(n - 1):
            if size == attention:
                layers.append(SelfAttention(ch))
            layers.append(Conv2d(ch, ch * 2, 4, 2, 1, bias=bias))
            if not spectral_norm:
                layers.append(nn.BatchNorm2d(ch * 2))
            layers.append(nn.LeakyReLU(0.2, True))
            ch, size = ch * 2, size // 2
        if size == attention:  # the base map
            layers.append(SelfAttention(ch))
        layers += [Conv2d(ch, 1, base, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)
        self.head = None
        if num_classes:  # the last conv is the linear term; the head adds projection / AC logits
            self.head = ProjectionHead(ch * base**2, num_classes, linear=False,
                                       projection=projection,
                                       aux_classifier=aux_classifier)
        init_dcgan_weights(self)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.head is None:
            return self.net(x).flatten()  # [N] logits
        h = self.net[:-1](x)  # [N, C, base, base]
        return self.head(h.flatten(1), labels, self.net[-1](h).flatten())  # [N] (, [N, K])


register_family("dcgan", kind="gan", generator=DCGANGenerator, discriminator=DCGANDiscriminator)
