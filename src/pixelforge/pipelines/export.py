"""ONNX export, so trained models run without PyTorch (onnxruntime, browsers, C++).

A noise-to-image generator exports its sampling function, z [N, latent_dim] (+ labels [N]) ->
images [N, C, H, W] in [-1, 1]; an image-to-image network (translator, upscaler, denoiser,
inpainter) exports image [N, C, H, W] (+ mask [N, 1, H, W]) -> image, with N, H and W dynamic.
"""

from __future__ import annotations

import copy
import inspect
import io
import math
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import parametrize

from pixelforge.core.files import atomic_write_bytes
from pixelforge.errors import UserError
from pixelforge.models.base import Generator, PixelforgeModule

# the TorchScript exporter (no onnxscript dependency) covers opsets 7..20; bilinear Resize and the
# ops our generators use are exact from 13 on; self-attention (scaled_dot_product_attention) needs 14
MIN_OPSET, MAX_OPSET = 14, 20
NOT_EXPORTED = ("discriminator", "classifier")  # roles that judge images rather than make them


class _Sampler(nn.Module):
    """generator.synthesize with a fixed truncation, clamped like the sampling pipeline."""

    def __init__(self, generator: Generator, truncation: float | None) -> None:
        super().__init__()
        self.generator, self.truncation = generator, truncation

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator.synthesize(z, labels, self.truncation).clamp(-1, 1)


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise UserError("ONNX export needs the 'onnx' package: pip install onnx "
                        "(and onnxruntime to run the exported model)") from None
    return onnx


def _inference_copy(generator: PixelforgeModule) -> PixelforgeModule:
    """A CPU fp32 NCHW eval-mode copy with every parametrisation (spectral norm) baked into a
    plain weight: at inference SN is a fixed rescaling, and its eval-mode form (u^T W v) uses
    aten::vdot, which ONNX cannot express."""
    g = copy.deepcopy(generator).to("cpu", torch.float32, memory_format=torch.contiguous_format)
    g.eval()  # SN's eval form: no power iteration, so the baked weight is what inference uses
    with torch.no_grad():
        for m in [m for m in g.modules() if parametrize.is_parametrized(m)]:
            baked = {name: getattr(m, name).clone() for name in m.parametrizations}
            # what remove_parametrizations does, minus deleting the property from the
            # Parametrized class, which a deep copy shares with the caller's module
            m.__class__ = type(m).__bases__[0]
            del m.parametrizations
            for name, value in baked.items():
                m.register_parameter(name, nn.Parameter(value, requires_grad=False))
    return g


def _latent_graph(g: Generator, batch_size: int, truncation: float | None):
    """(module, example args, input names, dynamic axes, metadata) of a generator's sampler."""
    args: tuple[torch.Tensor, ...] = (g.sample_latent(batch_size, seed=0),)
    inputs = ["z"]
    if g.num_classes:
        args += (g.default_labels(batch_size),)
        inputs.append("labels")
    meta = {"image_size": g.image_size, "channels": g.channels, "latent_dim": g.latent_dim,
            "num_classes": g.num_classes,
            "truncation": "none" if truncation is None else truncation}
    axes = {name: {0: "batch"} for name in [*inputs, "images"]}
    return _Sampler(g, truncation), args, inputs, axes, meta


def _image_graph(net: PixelforgeModule, batch_size: int, image_size: int):
    """The same for an image-to-image network: one image input per forward argument (a `mask`
    argument gets one channel), traced at image_size rounded up to the network's stride."""
    stride = int(getattr(net, "stride", 1))
    side = math.ceil(image_size / stride) * stride
    channels = int(getattr(net, "in_channels", None) or net.channels)
    params = [p for p in inspect.signature(net.forward).parameters.values()
              if p.default is inspect.Parameter.empty]
    inputs = ["image" if i == 0 else p.name for i, p in enumerate(params)]
    gen = torch.Generator().manual_seed(0)
    args = tuple(
        (torch.rand(batch_size, 1, side, side, generator=gen) > 0.5).float() if name == "mask"
        else torch.rand(batch_size, channels, side, side, generator=gen) * 2 - 1
        for name in inputs)
    axes = {name: {0: "batch", 2: "height", 3: "width"} for name in inputs}
    axes["images"] = {0: "batch", 2: "out_height", 3: "out_width"}
    meta = {"channels": net.channels, "in_channels": channels, "stride": stride,
            "scale": int(getattr(net, "scale", 1))}
    return net, args, inputs, axes, meta


def export_onnx(network: PixelforgeModule, path: str | Path, *, batch_size: int = 1,
                opset: int = 17, truncation: float | None = None, image_size: int = 64) -> Path:
    """Write `network` (eval mode, fp32, CPU) as an ONNX graph; the caller's module is untouched.

    A Generator: inputs z float32 [N, latent_dim], and labels int64 [N] when class-conditional;
    output images float32 [N, C, H, W]; truncation psi in (0, 1] is baked into the graph. An
    image-to-image network: inputs image [N, C, H, W] (and mask [N, 1, H, W] for inpainters),
    output images; H and W are dynamic (multiples of the network's stride), traced at
    image_size. batch_size only sets the traced batch. The file is written atomically.
    A pipeline (`pixelforge.load(run)`) exports through its own `export_onnx` method: its main
    network, or the component named."""
    if not isinstance(network, nn.Module) and callable(getattr(network, "export_onnx", None)):
        return network.export_onnx(path, batch_size=batch_size, opset=opset,
                                   truncation=truncation, image_size=image_size)
    onnx = _require_onnx()
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UserError(f"opset {opset} is not supported: use {MIN_OPSET}..{MAX_OPSET}")
    if batch_size < 1:
        raise UserError(f"batch_size must be >= 1 (got {batch_size})")
    if truncation is not None and not 0 < truncation <= 1:
        raise UserError(f"truncation must be in (0, 1], got {truncation}")
    path = Path(path)
    family = network.family or type(network).__name__
    role = getattr(network, "role", "") or ""
    reason = getattr(network, "onnx_unsupported", "")
    if reason:  # a family may declare that it cannot export, and why
        raise UserError(f"{family}: ONNX export is not supported ({reason})")
    if role.startswith(NOT_EXPORTED):
        raise UserError(f"{family}: the {role} is not exported; export a network that makes "
                        "images (a generator, translator, upscaler, denoiser or inpainter)")
    g = _inference_copy(network)
    if isinstance(g, Generator):
        module, args, inputs, axes, meta = _latent_graph(g, batch_size, truncation)
    elif truncation is not None:
        raise UserError(f"{family}: truncation applies to noise-to-image generators only")
    else:
        module, args, inputs, axes, meta = _image_graph(g, batch_size, image_size)
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation + tracer notes
        try:
            torch.onnx.export(module, args, buf, dynamo=False, opset_version=opset,
                              input_names=inputs, output_names=["images"], dynamic_axes=axes)
        except (torch.onnx.errors.OnnxExporterError, RuntimeError, ValueError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise UserError(f"{family}: ONNX export failed at opset {opset}: {first}") from e
    model = onnx.load_from_string(buf.getvalue())
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    out_dims[1].dim_value = g.channels  # the tracer may leave it symbolic (e.g. after a Resize)
    if isinstance(g, Generator):  # a generator's H and W are fixed: only N is dynamic
        out_dims[2].dim_value = out_dims[3].dim_value = g.image_size
    for key, value in {"pixelforge.model": family, "pixelforge.role": role, **meta}.items():
        model.metadata_props.add(key=key, value=str(value))
    onnx.checker.check_model(model)
    atomic_write_bytes(path, model.SerializeToString())
    return path


def onnx_signature(path: str | Path) -> tuple[list[str], list[str]]:
    """'name [dim, ...]' for each input and output of an ONNX file (symbolic dims by name)."""
    onnx = _require_onnx()
    graph = onnx.load(str(path), load_external_data=False).graph

    def describe(values) -> list[str]:
        out = []
        for v in values:
            dims = [d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim]
            out.append(f"{v.name} [{', '.join(dims)}]")
        return out

    return describe(graph.input), describe(graph.output)
