"""CPU GEMM routes for small-map convolutions: nn.Conv2d / nn.ConvTranspose2d subclasses that run
4x4 stride-2 layers on few-pixel maps, and kernel-sized layers, as matrix products."""

from __future__ import annotations

import contextlib
import contextvars

import torch
import torch.nn.functional as F
from torch import nn

from pixelforge.nn.perf import PERF

# On CPU, oneDNN runs the 4x4-kernel stride-2 convolutions whose small side is only a few pixels
# wide (DCGAN's 4x4 <-> 8x8 layers) at 240-700 GFLOP/s in bf16 on AMX (weight gradients worst),
# while the same arithmetic as matrix products runs at 1.5-3 TFLOP/s; the kernel-sized first and
# last layers are plain matrix products too. The classes below are nn.Conv2d /
# nn.ConvTranspose2d (same parameters, same state-dict keys, same maths) that take these GEMM
# routes when the measurements say they pay (docs/benchmarks.md; thresholds and the on/off
# switch live in pixelforge.nn.perf.PERF) and defer to the stock implementation otherwise.
#
# Layout: activations are channels_last, i.e. NHWC in memory, so a 4x4 window of a padded map is
# a strided view (im2col = one copy), and channels_last weights [O, C, 4, 4] are already the
# (o, kh, kw, c) matrix. A stride-2 transposed convolution (and the input gradient of a stride-2
# convolution) splits into four output phases (even/odd row x even/odd column); each phase is a
# 2x2-window convolution of the padded input, so it too is im2col + GEMM, with no overlapping adds.


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype


def _padded_nhwc(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] (any layout) -> contiguous NHWC [N, H+2, W+2, C] with a zero border."""
    return F.pad(_nhwc(x), (0, 0, 1, 1, 1, 1)).contiguous()


def _windows(xp: torch.Tensor, oh: int, ow: int, k: int, stride: int) -> torch.Tensor:
    """im2col of a padded NHWC map: the k x k windows at `stride` starting at xp's first pixel,
    as [N*oh*ow, k*k*C] with columns ordered (kh, kw, c)."""
    n, _, _, c = xp.shape
    sn, sh, sw, _ = xp.stride()
    win = xp.as_strided((n, oh, ow, k, k, c), (sn, stride * sh, stride * sw, sh, sw, 1),
                        xp.storage_offset())
    return win.reshape(-1, k * k * c)


def _cl_empty(n: int, c: int, h: int, w: int, like: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """A fresh channels_last [N, C, H, W] tensor and its NHWC view."""
    t = torch.empty((n, c, h, w), dtype=like.dtype, device=like.device,
                    memory_format=torch.channels_last)
    return t, _nhwc(t)


def _conv_s2(x: torch.Tensor, wm: torch.Tensor, bias: torch.Tensor | None
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Conv(k4, s2, p1): x [N, C, H, W], wm [O, 16C] in (kh, kw, c) order -> (channels_last
    [N, O, H/2, W/2], the im2col matrix)."""
    n, _, h, w = x.shape
    cols = _windows(_padded_nhwc(x), h // 2, w // 2, 4, 2)
    out, out_nhwc = _cl_empty(n, wm.shape[0], h // 2, w // 2, cols)
    flat = out_nhwc.view(-1, wm.shape[0])
    if cols.dtype == torch.bfloat16 and cols.shape[0] <= 1024 and wm.shape[0] >= 384:
        # measured: for this shape class oneDNN's bf16 GEMM runs ~1.7x faster as (W @ cols^T)^T
        yt = (wm @ cols.t()).t()
        if bias is None:
            flat.copy_(yt)
        else:
            torch.add(yt, bias, out=flat)
    elif bias is None:
        torch.mm(cols, wm.t(), out=flat)
    else:
        torch.addmm(bias, cols, wm.t(), out=flat)
    return out, cols


# kernel tap (kh*4 + kw) used by phase (r, s) at window offset (u, v): kh = 3 - r - 2u, likewise kw
_PHASE_TAPS = torch.tensor([(3 - r - 2 * u) * 4 + (3 - s - 2 * v)
                            for r in (0, 1) for s in (0, 1) for u in (0, 1) for v in (0, 1)])


def _phase_weights(w: torch.Tensor) -> torch.Tensor:
    """Transposed-conv weights [I, O, 4, 4] -> per-phase matrices [4 (r, s), 4I (u, v, i), O].

    Output row 2m + r reads padded input rows m + r + u (u = 0, 1) through kernel row 3 - r - 2u."""
    i, o = w.shape[:2]
    taps = w.permute(2, 3, 0, 1).reshape(16, i, o)  # a view for channels_last weights
    return taps.index_select(0, _PHASE_TAPS.to(w.device)).view(4, 4 * i, o)


def _conv_t_s2(x: torch.Tensor, wp: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """ConvTranspose(k4, s2, p1): x [N, I, H, W], phase weights wp -> channels_last
    [N, O, 2H, 2W]."""
    n, i, h, w = x.shape
    o = wp.shape[-1]
    xp = _padded_nhwc(x)
    out, out_nhwc = _cl_empty(n, o, 2 * h, 2 * w, xp)
    phases = out_nhwc.view(n, h, 2, w, 2, o)
    for r in (0, 1):
        for s in (0, 1):
            cols = _windows(xp[:, r:, s:], h, w, 2, 1)
            y = cols @ wp[2 * r + s] if bias is None else torch.addmm(bias, cols, wp[2 * r + s])
            phases[:, :, r, :, s].copy_(y.view(n, h, w, o))
    return out


_S2 = dict(stride=[2, 2], padding=[1, 1], dilation=[1, 1], output_padding=[0, 0], groups=1)


def _onednn(x, w, b, transposed: bool) -> torch.Tensor:
    return torch.ops.aten.convolution(x, w, b, transposed=transposed, **_S2)


def _onednn_input_grad(gy, x, w, transposed: bool) -> torch.Tensor:
    return torch.ops.aten.convolution_backward(gy, x, w, None, transposed=transposed,
                                               output_mask=[True, False, False], **_S2)[0]


def _tn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a.T @ b (a weight gradient). Measured with oneDNN's bf16 GEMM on 2 cores: materialising a.T
    first is 1.2x faster for up to 1024 rows, the transposed operand 1.4x faster for more."""
    return (a.t().contiguous() if a.shape[0] <= 1024 else a.t()) @ b


# The autograd Functions return fresh (non-view) channels_last tensors so that in-place
# activations right after them work.
class _StridedConvGemm(torch.autograd.Function):
    """Conv2d(k=4, s=2, p=1) with GEMM weight grads on the im2col matrix; with `full`, the forward
    is that GEMM too and the input grad is the four-phase transposed convolution, otherwise both
    stay with oneDNN."""

    @staticmethod
    def forward(ctx, x, w, b, full):
        ctx.full = full
        if full:
            y, cols = _conv_s2(x, _nhwc(w).reshape(w.shape[0], -1), b)
            ctx.save_for_backward(cols, w)
            return y
        ctx.save_for_backward(x, w)
        return _onednn(x, w, b, False)

    @staticmethod
    def backward(ctx, gy):
        saved, w = ctx.saved_tensors
        o, c = w.shape[:2]
        g = _nhwc(gy).reshape(-1, o)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = (_conv_t_s2(gy, _phase_weights(w), None) if ctx.full
                  else _onednn_input_grad(gy, saved, w, False))
        if ctx.needs_input_grad[1]:
            cols = saved if ctx.full else _windows(_padded_nhwc(saved), *gy.shape[-2:], 4, 2)
            gw = _tn(g, cols).view(o, 4, 4, c).permute(0, 3, 1, 2)
        if ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return gx, gw, gb, None


class _StridedConvTGemm(torch.autograd.Function):
    """ConvTranspose2d(k=4, s=2, p=1) with GEMM weight grads on the output grad's im2col matrix;
    with `full`, the forward runs as four phase GEMMs and the input grad as the strided
    convolution GEMM, otherwise both stay with oneDNN."""

    @staticmethod
    def forward(ctx, x, w, b, full):
        ctx.full = full
        ctx.save_for_backward(x, w)
        return _conv_t_s2(x, _phase_weights(w), b) if full else _onednn(x, w, b, True)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        i, o = w.shape[:2]
        gx = gw = gb = None
        if ctx.full:
            gx, gcols = _conv_s2(gy, _nhwc(w).reshape(i, -1), None)  # wm [I, 16 O] (kh, kw, o)
        else:
            if ctx.needs_input_grad[0]:
                gx = _onednn_input_grad(gy, x, w, True)
            gcols = None
            if ctx.needs_input_grad[1]:
                gcols = _windows(_padded_nhwc(gy), *x.shape[-2:], 4, 2)
        if ctx.needs_input_grad[1]:
            gw = _tn(_nhwc(x).reshape(-1, i), gcols).view(i, 4, 4, o).permute(0, 3, 1, 2)
        if ctx.needs_input_grad[2]:
            gb = _nhwc(gy).sum((0, 1, 2))
        return gx if ctx.needs_input_grad[0] else None, gw, gb, None


def _route(x: torch.Tensor, small_area: int) -> bool | None:
    """True: whole layer as GEMMs; False: only the weight grad as a GEMM; None: stock layer."""
    if not PERF.gemm_paths or not x.is_contiguous(memory_format=torch.channels_last):
        return None
    dt = _compute_dtype(x)
    if small_area <= PERF.gemm_max_area.get(dt, 0):
        return True
    if small_area <= PERF.gemm_wgrad_max_area.get(dt, 0) and torch.is_grad_enabled():
        return False
    return None


# weight casts shared inside a shared_weight_casts() block (None outside one)
_shared_casts: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "pixelforge_shared_casts", default=None)


@contextlib.contextmanager
def shared_weight_casts():
    """Inside this block each weight the GEMM routes cast (fp32 -> bf16 under autocast) is cast
    once and reused, like autocast's own cache does for stock layers: a GAN's D step runs D on the
    real and the fake batch with the same weights, so the cast and the gradient's cast back happen
    once. The weights must not change inside the block."""
    token = _shared_casts.set({}) if _shared_casts.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _shared_casts.reset(token)


def _cast(t: torch.Tensor, dt: torch.dtype) -> torch.Tensor:
    cache = _shared_casts.get()
    if t.dtype == dt or cache is None:
        return t.to(dt)
    key = (id(t), dt, t.requires_grad and torch.is_grad_enabled())
    hit = cache.get(key)
    if hit is None or hit[0] is not t:
        hit = cache[key] = (t, t.to(dt))
    return hit[1]


def _run_gemm(fn, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, full: bool
              ) -> torch.Tensor:
    dt = _compute_dtype(x)
    x, w = x.to(dt), _cast(w, dt)
    b = _cast(b, dt) if b is not None else None
    with torch.autocast("cpu", enabled=False):
        return fn.apply(x, w, b, full)


class Conv2d(nn.Conv2d):
    """nn.Conv2d with CPU GEMM routes for small-map 4x4 stride-2 and whole-input kernels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x, self.weight, self.bias)

    def conv(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
             ) -> torch.Tensor:
        """This layer's convolution with the given parameters (e.g. BatchNorm-folded ones)."""
        if (x.device.type == "cpu" and x.dim() == 4 and self.groups == 1
                and self.dilation == (1, 1) and self.padding_mode == "zeros"):
            h, w = x.shape[-2:]
            route = None
            if (self.kernel_size == (4, 4) and self.stride == (2, 2) and self.padding == (1, 1)
                    and h % 2 == 0 and w % 2 == 0):
                route = _route(x, h * w // 4)
            if route is not None:
                return _run_gemm(_StridedConvGemm, x, weight, bias, route)
            if PERF.gemm_paths and self.padding == (0, 0) and (h, w) == self.kernel_size:
                # the kernel covers the whole input: a Linear layer in either memory layout
                n, o = x.shape[0], self.out_channels
                if x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
                    y = F.linear(x.reshape(n, -1), weight.reshape(o, -1), bias)
                else:
                    y = F.linear(_nhwc(x).reshape(n, -1), _nhwc(weight).reshape(o, -1), bias)
                return y[:, :, None, None]
        return self._conv_forward(x, weight, bias)


class ConvTranspose2d(nn.ConvTranspose2d):
    """nn.ConvTranspose2d with CPU GEMM routes for small-map 4x4 stride-2 and 1x1-input layers."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if output_size is not None:
            return super().forward(x, output_size)
        return self.conv(x, self.weight, self.bias)

    def conv(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
             ) -> torch.Tensor:
        """This layer's transposed convolution with the given parameters."""
        if (x.device.type == "cpu" and x.dim() == 4 and self.groups == 1
                and self.dilation == (1, 1) and self.output_padding == (0, 0)):
            h, w = x.shape[-2:]
            route = None
            if self.kernel_size == (4, 4) and self.stride == (2, 2) and self.padding == (1, 1):
                route = _route(x, h * w)
            if route is not None:
                return _run_gemm(_StridedConvTGemm, x, weight, bias, route)
            if PERF.gemm_paths and self.padding == (0, 0) and (h, w) == (1, 1):
                # a 1x1 input spreads into one kernel-sized map: a Linear layer
                n, i, o = x.shape[0], self.in_channels, self.out_channels
                kh, kw = self.kernel_size
                if weight.is_contiguous():
                    y = (x.reshape(n, i) @ weight.reshape(i, -1)).view(n, o, kh, kw)
                else:  # channels_last weights: produce a channels_last map without copies
                    y = (x.reshape(n, i) @ _nhwc(weight).reshape(i, -1))
                    y = y.view(n, kh, kw, o).permute(0, 3, 1, 2)
                return y if bias is None else y + bias[:, None, None]
        return F.conv_transpose2d(x, weight, bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)


def _foldable(bn: nn.Module) -> bool:
    return (isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d)) and not bn.training
            and bn.running_mean is not None and bn.running_var is not None)


def run_folded(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """`layers(x)` for inference: each BatchNorm in eval mode that follows a (transposed)
    convolution or Linear layer is folded into that layer's weight and bias (one pass over the
    weights instead of a normalisation pass, and its large temporary, over every activation)."""
    mods = list(layers)
    i = 0
    while i < len(mods):
        m = mods[i]
        bn = mods[i + 1] if i + 1 < len(mods) else None
        if isinstance(m, (Conv2d, ConvTranspose2d, nn.Linear)) and bn is not None and _foldable(bn):
            scale = torch.rsqrt(bn.running_var + bn.eps)
            if bn.weight is not None:
                scale = scale * bn.weight
            shift = -bn.running_mean * scale
            if bn.bias is not None:
                shift = shift + bn.bias
            if m.bias is not None:
                shift = shift + m.bias * scale
            out_dim = 1 if isinstance(m, ConvTranspose2d) else 0
            view = [1] * m.weight.dim()
            view[out_dim] = -1
            weight = m.weight * scale.view(view)
            x = F.linear(x, weight, shift) if isinstance(m, nn.Linear) else m.conv(x, weight, shift)
            i += 2
        else:
            x = m(x)
            i += 1
    return x


def run_sequential(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """`layers(x)`; at inference (eval mode, no autograd) with the BatchNorms folded."""
    if not layers.training and not torch.is_grad_enabled():
        return run_folded(layers, x)
    return layers(x)
