"""`pixelforge export`: a generator as an ONNX file (z [+ labels] -> images) for onnxruntime."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo, load_generator


def register(app: typer.Typer) -> None:
    @app.command(
        "export",
        help="Export a generator to ONNX: inputs z [N, latent_dim] (and labels [N] for "
        "class-conditional models), output images [N, C, H, W] in [-1, 1]; N is dynamic.\n\n"
        "Example:\n\n  pixelforge export runs/demo --out generator.onnx\n\n"
        "  pixelforge export runs/cond --out g.onnx --opset 17 --truncation 0.7",
    )
    def export_cmd(
        checkpoint: str = typer.Argument(..., help="run folder or checkpoint folder"),
        out: str = typer.Option("generator.onnx", "--out", help="the .onnx file to write"),
        opset: int = typer.Option(17, "--opset", help="ONNX opset version (13..20)"),
        truncation: float | None = typer.Option(None, "--truncation", help="psi in (0, 1], "
                                                "baked into the exported graph"),
    ) -> None:
        from pixelforge.errors import UserError
        from pixelforge.pipelines.export import export_onnx, onnx_signature

        if not out.lower().endswith(".onnx"):
            raise UserError(f"--out {out}: use a file name ending in .onnx")
        gen = load_generator(checkpoint)
        path = export_onnx(gen, out, opset=opset, truncation=truncation)
        inputs, outputs = onnx_signature(path)
        echo(f"wrote {path}")
        echo(f"inputs: {', '.join(inputs)}")
        echo(f"outputs: {', '.join(outputs)}")
