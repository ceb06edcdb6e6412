"""DCGAN (Radford, Metz & Chintala 2015): all-convolutional G and D with BatchNorm, 32-128 px."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.errors import UserError
from pixelforge.models.base import Generator, PixelforgeModule, register_family


def _num_stages(image_size: int) -> int:
    stages = math.log2(image_size / 4)
    if image_size < 16 or not stages.is_integer():
        raise UserError(f"model.image_size: dcgan needs a power of two >= 16 (got {image_size})")
    return int(stages)


# --- CPU fast paths for the small-map layers ---------------------------------------------------
# On CPU, oneDNN runs the 4x4-kernel stride-2 convolutions whose small side is only a few pixels
# wide (DCGAN's 4x4 <-> 8x8 layers) at ~240 GFLOP/s even in bf16 on AMX, while the same arithmetic
# as one matrix product runs at 1.5-3 TFLOP/s; the kernel-sized first and last layers are plain
# matrix products too. The classes below are nn.Conv2d / nn.ConvTranspose2d (same parameters, same
# state-dict keys, same maths) that take these GEMM routes when the measurements say they pay
# (docs/benchmarks.md) and defer to the stock implementation otherwise.

GEMM_MAX_AREA = {torch.bfloat16: 64, torch.float32: 16}  # small-side pixels up to which GEMM wins
GEMM_PATHS = True  # switch for A/B measurements (benchmarks/train_throughput.py --levers)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype


def _gemm_pays(x: torch.Tensor, small_area: int) -> bool:
    return (GEMM_PATHS and x.is_contiguous(memory_format=torch.channels_last)
            and small_area <= GEMM_MAX_AREA.get(_compute_dtype(x), 0))


def _windows(xp: torch.Tensor, oh: int, ow: int) -> torch.Tensor:
    """im2col of a zero-padded NHWC map [N, 2oh+2, 2ow+2, C] for a 4x4 stride-2 window:
    [N*oh*ow, 16*C] with columns ordered (kh, kw, c), the physical order of channels_last weights."""
    n, _, _, c = xp.shape
    sn, sh, sw, _ = xp.stride()
    return xp.as_strided((n, oh, ow, 4, 4, c), (sn, 2 * sh, 2 * sw, sh, sw, 1)).reshape(-1, 16 * c)


def _overlap_add(cols: torch.Tensor, n: int, oh: int, ow: int, c: int) -> torch.Tensor:
    """Adjoint of _windows (col2im), cropped to the unpadded map: NHWC [N, 2oh, 2ow, C].

    Window row kh = 2*da + p lands on padded row 2*(oh + da) + p, so the 16 kernel taps reduce to
    four shifted block additions, accumulated in fp32 (so bf16 sums round once, like oneDNN's)."""
    v = cols.view(n, oh, ow, 2, 2, 2, 2, c)  # [n, oh, ow, da, p, db, q, c]
    acc_dtype = torch.promote_types(cols.dtype, torch.float32)
    acc = cols.new_zeros(n, oh + 1, 2, ow + 1, 2, c, dtype=acc_dtype)
    for da in (0, 1):
        for db in (0, 1):
            acc[:, da:da + oh, :, db:db + ow] += v[:, :, :, da, :, db].permute(0, 1, 3, 2, 4, 5)
    return acc.view(n, 2 * oh + 2, 2 * ow + 2, c)[:, 1:-1, 1:-1]


def _cl_empty(n: int, c: int, h: int, w: int, like: torch.Tensor, dtype: torch.dtype | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """A fresh channels_last [N, C, H, W] tensor and its NHWC view (for out= writes)."""
    t = torch.empty((n, c, h, w), dtype=dtype or like.dtype, device=like.device,
                    memory_format=torch.channels_last)
    return t, _nhwc(t)


def _to_cl(y_nhwc: torch.Tensor, dtype: torch.dtype, bias: torch.Tensor | None = None
           ) -> torch.Tensor:
    """A dense channels_last [N, C, H, W] `dtype` copy of an NHWC view (plus the bias if any)."""
    n, h, w, c = y_nhwc.shape
    out, out_nhwc = _cl_empty(n, c, h, w, y_nhwc, dtype)
    if bias is None:
        out_nhwc.copy_(y_nhwc)
    else:
        torch.add(y_nhwc, bias, out=out_nhwc)
    return out


def _matmul_cl(a: torch.Tensor, b: torch.Tensor, n: int, h: int, w: int,
               bias: torch.Tensor | None = None) -> torch.Tensor:
    """(a @ b [+ bias]) with rows (n, h, w), written straight into a channels_last [N, C, H, W]."""
    out, out_nhwc = _cl_empty(n, b.shape[1], h, w, a)
    flat = out_nhwc.view(-1, b.shape[1])
    if bias is None:
        torch.mm(a, b, out=flat)
    else:
        torch.addmm(bias, a, b, out=flat)
    return out


# The autograd Functions return fresh (non-view) channels_last tensors so that in-place
# activations right after them work.
class _StridedConvGemm(torch.autograd.Function):
    """Conv2d(k=4, s=2, p=1) on channels_last input as im2col + one GEMM per pass."""

    @staticmethod
    def forward(ctx, x, w, b):
        n, c, h, wd = x.shape
        o = w.shape[0]
        cols = _windows(F.pad(_nhwc(x), (0, 0, 1, 1, 1, 1)).contiguous(), h // 2, wd // 2)
        wm = _nhwc(w).reshape(o, 16 * c)  # a view for channels_last weights
        ctx.save_for_backward(cols, wm)
        ctx.dims = (n, c, h, wd, o)
        return _matmul_cl(cols, wm.t(), n, h // 2, wd // 2, b)

    @staticmethod
    def backward(ctx, gy):
        cols, wm = ctx.saved_tensors
        n, c, h, wd, o = ctx.dims
        g = _nhwc(gy).reshape(-1, o)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _to_cl(_overlap_add(g @ wm, n, h // 2, wd // 2, c), g.dtype)
        if ctx.needs_input_grad[1]:
            gw = (g.t() @ cols).view(o, 4, 4, c).permute(0, 3, 1, 2)
        if ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return gx, gw, gb


class _StridedConvTGemm(torch.autograd.Function):
    """ConvTranspose2d(k=4, s=2, p=1) on channels_last input as one GEMM + col2im per pass."""

    @staticmethod
    def forward(ctx, x, w, b):
        n, i, h, wd = x.shape
        o = w.shape[1]
        xm = _nhwc(x).reshape(-1, i)
        wm = _nhwc(w).reshape(i, 16 * o)  # a view for channels_last weights
        ctx.save_for_backward(xm, wm)
        ctx.dims = (n, i, h, wd, o)
        return _to_cl(_overlap_add(xm @ wm, n, h, wd, o), xm.dtype, b)

    @staticmethod
    def backward(ctx, gy):
        xm, wm = ctx.saved_tensors
        n, i, h, wd, o = ctx.dims
        gcols = _windows(F.pad(_nhwc(gy), (0, 0, 1, 1, 1, 1)).contiguous(), h, wd)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _matmul_cl(gcols, wm.t(), n, h, wd)
        if ctx.needs_input_grad[1]:
            gw = (xm.t() @ gcols).view(i, 4, 4, o).permute(0, 3, 1, 2)
        if ctx.needs_input_grad[2]:
            gb = _nhwc(gy).sum((0, 1, 2))
        return gx, gw, gb


def _run_gemm(fn, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    dt = _compute_dtype(x)
    x, w = x.to(dt), w.to(dt)
    b = b.to(dt) if b is not None else None
    with torch.autocast("cpu", enabled=False):
        return fn.apply(x, w, b)


class Conv2d(nn.Conv2d):
    """nn.Conv2d with CPU GEMM routes for small-map 4x4 stride-2 and whole-input kernels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type == "cpu" and x.dim() == 4 and self.groups == 1
                and self.dilation == (1, 1) and self.padding_mode == "zeros"):
            h, w = x.shape[-2:]
            if (self.kernel_size == (4, 4) and self.stride == (2, 2) and self.padding == (1, 1)
                    and h % 2 == 0 and w % 2 == 0 and _gemm_pays(x, h * w // 4)):
                return _run_gemm(_StridedConvGemm, x, self.weight, self.bias)
            if GEMM_PATHS and self.padding == (0, 0) and (h, w) == self.kernel_size:
                # the kernel covers the whole input: a Linear layer in either memory layout
                n, o = x.shape[0], self.out_channels
                if x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
                    y = F.linear(x.reshape(n, -1), self.weight.reshape(o, -1), self.bias)
                else:
                    y = F.linear(_nhwc(x).reshape(n, -1), _nhwc(self.weight).reshape(o, -1),
                                 self.bias)
                return y[:, :, None, None]
        return super().forward(x)


class ConvTranspose2d(nn.ConvTranspose2d):
    """nn.ConvTranspose2d with CPU GEMM routes for small-map 4x4 stride-2 and 1x1-input layers."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if (output_size is None and x.device.type == "cpu" and x.dim() == 4 and self.groups == 1
                and self.dilation == (1, 1) and self.output_padding == (0, 0)):
            h, w = x.shape[-2:]
            if (self.kernel_size == (4, 4) and self.stride == (2, 2) and self.padding == (1, 1)
                    and _gemm_pays(x, h * w)):
                return _run_gemm(_StridedConvTGemm, x, self.weight, self.bias)
            if GEMM_PATHS and self.padding == (0, 0) and (h, w) == (1, 1):
                # a 1x1 input spreads into one kernel-sized map: a Linear layer
                n, i, (kh, kw), o = x.shape[0], self.in_channels, self.kernel_size, self.out_channels
                if self.weight.is_contiguous():
                    y = (x.reshape(n, i) @ self.weight.reshape(i, -1)).view(n, o, kh, kw)
                else:  # channels_last weights: produce a channels_last map without copies
                    y = (x.reshape(n, i) @ _nhwc(self.weight).reshape(i, -1))
                    y = y.view(n, kh, kw, o).permute(0, 3, 1, 2)
                return y if self.bias is None else y + self.bias[:, None, None]
        return super().forward(x, output_size)


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales, as in the paper."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(Generator):
    """z -> 4x4 (k4 s1) -> stride-2 transposed convs, halving width each stage -> tanh."""

    def __init__(self, image_size: int = 64, channels: int = 3, latent_dim: int = 100,
                 width: int = 64) -> None:
        super().__init__()
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        n = _num_stages(image_size)
        ch = width * 2 ** (n - 1)
        layers: list[nn.Module] = [ConvTranspose2d(latent_dim, ch, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(n - 1):
            layers += [ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # [N, Z, 1, 1] -> [N, C, S, S]


class DCGANDiscriminator(PixelforgeModule):
    """Stride-2 convs with LeakyReLU(0.2) (BatchNorm after the first) down to 4x4, then one logit."""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64) -> None:
        super().__init__()
        n = _num_stages(image_size)
        layers: list[nn.Module] = [Conv2d(channels, width, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(n - 1):
            layers += [Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [Conv2d(ch, 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # [N] logits


register_family("dcgan", kind="gan", generator=DCGANGenerator, discriminator=DCGANDiscriminator)
