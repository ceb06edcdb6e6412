"""`pixelforge inpaint`: fill the holes of an image given a mask file or a box."""

from __future__ import annotations

import typer

from pixelforge.cli.common import echo
from pixelforge.cli.denoise import FORMAT_HELP


def parse_box(text: str) -> tuple[int, int, int, int]:
    """'x,y,w,h' -> ints (UserError naming --box otherwise)."""
    from pixelforge.errors import UserError

    parts = text.split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise UserError(f"--box {text}: expected x,y,w,h as four integers") from None
    return x, y, w, h


def register(app: typer.Typer) -> None:
    @app.command(
        "inpaint",
        help="Fill holes in images. The mask is an image of the same size in which WHITE marks "
        "the hole (pixels to fill) and black the pixels to keep; or give a rectangle with "
        "--box x,y,w,h. Large images are inpainted in a crop around the hole and pasted back.\n\n"
        "Examples:\n\n  pixelforge inpaint photo.png --mask holes.png --out filled/\n\n"
        "  pixelforge inpaint photo.png --box 120,80,64,48 --out filled/",
    )
    def inpaint_cmd(
        images: list[str] = typer.Argument(..., help="image files, folders or globs"),
        out: str = typer.Option(..., "--out", help="output folder"),
        mask: str | None = typer.Option(None, "--mask", help="mask image, same size as the "
                                        "image: white = hole to fill, black = keep"),
        box: str | None = typer.Option(None, "--box", help="hole rectangle x,y,w,h in pixels"),
        model: str | None = typer.Option(None, "--model", help="run or checkpoint folder of a "
                                         "trained inpainter (default: the shipped model)"),
        fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
        overwrite: bool = typer.Option(False, "--overwrite", help="allow replacing input files"),
        precision: str = typer.Option("auto", "--precision", help="auto, fp32 or bf16"),
    ) -> None:
        from pixelforge.data.masks import box_mask
        from pixelforge.errors import UserError
        from pixelforge.pipelines.restore import load_restorer
        from pixelforge.pipelines.restore_io import plan_jobs, read_mask, run_jobs

        if (mask is None) == (box is None):
            raise UserError("give exactly one of --mask MASK.png (white = hole) or --box x,y,w,h")
        rect = parse_box(box) if box is not None else None
        jobs = plan_jobs(images, out, fmt, overwrite=overwrite)
        pipe = load_restorer("inpaint", model)

        def run(img):
            w, h = img.size
            m = read_mask(mask, (w, h)) if mask else box_mask(h, w, *rect)[None]
            return pipe.inpaint(img.rgb, m, precision=precision), img.alpha

        done = run_jobs(jobs, run)
        echo(f"inpainted {len(done)} image(s) into {out}")
