"""ONNX export of a generator's sampling function, z [N, latent_dim] (+ labels [N]) -> images
[N, C, H, W] in [-1, 1], so trained models run without PyTorch (onnxruntime, browsers, C++)."""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path

import torch
from torch import nn

from pixelforge.checkpoint import atomic_write_bytes
from pixelforge.errors import UserError
from pixelforge.models.base import Generator

# the TorchScript exporter (no onnxscript dependency) covers opsets 7..20; bilinear Resize and the
# ops our generators use are exact from 13 on
MIN_OPSET, MAX_OPSET = 13, 20


class _Sampler(nn.Module):
    """generator.synthesize with a fixed truncation, clamped like Generator.generate."""

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


def export_onnx(generator: Generator, path: str | Path, *, batch_size: int = 1, opset: int = 17,
                truncation: float | None = None) -> Path:
    """Write `generator` (eval mode, fp32, CPU) as an ONNX graph with a dynamic batch axis.

    Inputs: z float32 [N, latent_dim], and labels int64 [N] for class-conditional generators;
    output: images float32 [N, C, H, W]. truncation psi in (0, 1] is baked into the graph.
    batch_size only sets the example batch used for tracing. The file is written atomically."""
    onnx = _require_onnx()
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UserError(f"opset {opset} is not supported: use {MIN_OPSET}..{MAX_OPSET}")
    if batch_size < 1:
        raise UserError(f"batch_size must be >= 1 (got {batch_size})")
    if truncation is not None and not 0 < truncation <= 1:
        raise UserError(f"truncation must be in (0, 1], got {truncation}")
    path = Path(path)
    g = copy.deepcopy(generator).to("cpu", torch.float32, memory_format=torch.contiguous_format)
    g.eval()
    args: tuple[torch.Tensor, ...] = (g.sample_latent(batch_size, seed=0),)
    inputs = ["z"]
    if g.num_classes:
        args += (g.default_labels(batch_size),)
        inputs.append("labels")
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation + tracer notes
        torch.onnx.export(_Sampler(g, truncation), args, buf, dynamo=False, opset_version=opset,
                          input_names=inputs, output_names=["images"],
                          dynamic_axes={name: {0: "batch"} for name in [*inputs, "images"]})
    model = onnx.load_from_string(buf.getvalue())
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    for dim, size in zip(out_dims[1:], (g.channels, g.image_size, g.image_size), strict=True):
        dim.dim_value = size  # the tracer leaves resized maps symbolic; only the batch is dynamic
    meta = {"pixelforge.model": g.family, "image_size": g.image_size, "channels": g.channels,
            "latent_dim": g.latent_dim, "num_classes": g.num_classes,
            "truncation": "none" if truncation is None else truncation}
    for key, value in meta.items():
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
