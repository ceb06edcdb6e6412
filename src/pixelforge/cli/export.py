"""`pixelforge export`: a checkpoint's image-making network as an ONNX file for onnxruntime."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo


def _export(checkpoint: str, component: str | None, out: str, **options):
    """Export through the checkpoint's pipeline (its main network, or `component`); a folder
    holding one network that no pipeline runs exports that network."""
    from pixelforge.api import load
    from pixelforge.pipelines.base import Pipeline
    from pixelforge.pipelines.export import export_onnx

    loaded = load(checkpoint)
    if isinstance(loaded, Pipeline):
        return loaded.export_onnx(out, component=component, **options)
    if component is not None:  # checks the name against the folder's one network
        loaded = load(checkpoint, component=component)
    return export_onnx(loaded, out, **options)


def register(app: typer.Typer) -> None:
    @app.command(
        "export",
        help="Export a generator to ONNX: inputs z [N, latent_dim] (and labels [N] for "
        "class-conditional models), output images [N, C, H, W] in [-1, 1]; N is dynamic. "
        "Image-to-image models (translators, upscalers, denoisers, inpainters) export as "
        "image [N, C, H, W] (+ mask [N, 1, H, W]) -> images, with N, H and W dynamic.\n\n"
        "Example:\n\n  pixelforge export runs/demo --out generator.onnx\n\n"
        "  pixelforge export runs/cond --out g.onnx --opset 17 --truncation 0.7\n\n"
        "  pixelforge export runs/horse2zebra --component generator_ba --out ba.onnx",
    )
    def export_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        out: str = typer.Option("generator.onnx", "--out", help="the .onnx file to write"),
        opset: int = typer.Option(17, "--opset", help="ONNX opset version (14..20)"),
        truncation: float | None = typer.Option(None, "--truncation", help="psi in (0, 1], "
                                                "baked into the exported graph"),
        component: str | None = typer.Option(None, "--component", help="which network of a "
                                             "multi-network checkpoint (default: its main one)"),
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.pipelines.export import onnx_signature

        if not out.lower().endswith(".onnx"):
            raise UserError(f"--out {out}: use a file name ending in .onnx")
        path = _export(checkpoint, component, out, opset=opset, truncation=truncation)
        inputs, outputs = onnx_signature(path)
        echo(f"wrote {path}")
        echo(f"inputs: {', '.join(inputs)}")
        echo(f"outputs: {', '.join(outputs)}")
