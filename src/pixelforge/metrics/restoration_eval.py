"""`pixelforge eval` for restoration checkpoints (denoise, upscale, inpaint) on held-out photos.

Each image of the split contributes one seeded crop (`crop` px, default 256; smaller images whole).
Every degradation or mask protocol of the kind is applied with per-image seeds, the model and its
classical baseline restore the same inputs, and PSNR/SSIM are logged with the protocol, one
metrics.jsonl record per score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from pixelforge.core.formats import is_image_file
from pixelforge.errors import UserError
from pixelforge.metrics.kinds import EvalRequest
from pixelforge.metrics.report import append_metrics
from pixelforge.metrics.restoration import evaluate_restoration

DEFAULT_SPECS = {"denoise": ["noise:15", "noise:25", "noise:50", "jpeg:30"],
                 "inpaint": ["thin", "medium", "thick"]}


def eval_crops(folder: str | Path, *, n: int | None = None, size: int = 256,
               seed: int = 0) -> list[torch.Tensor]:
    """One seeded size x size crop ([3, size, size] in [-1, 1]) per image file, sorted by name;
    images smaller than `size` are used whole. The same (folder, n, size, seed) -> same crops."""
    folder = Path(folder)
    files = sorted(f for f in folder.iterdir() if is_image_file(f))[:n] \
        if folder.is_dir() else []
    if not files:
        raise UserError(f"{folder}: no image files to evaluate on")
    rng = np.random.default_rng(seed)
    out = []
    for f in files:
        with Image.open(f) as im:
            a = np.asarray(im.convert("RGB"))
        h, w = a.shape[:2]
        y = int(rng.integers(0, max(1, h - size + 1)))
        x = int(rng.integers(0, max(1, w - size + 1)))
        crop = np.array(a[y:y + size, x:x + size], copy=True)
        out.append(torch.from_numpy(crop).permute(2, 0, 1).float() / 127.5 - 1)
    return out


def _folder(request: EvalRequest) -> Path:
    base = Path(request.data)
    if not base.is_dir():
        raise UserError(f"data={request.data}: restoration eval needs a folder of photos "
                        "(or one with train/ and test/ inside)", field="data")
    return base / request.split if (base / request.split).is_dir() else base


def _baselines(kind: str, spec: str, scale: int) -> dict[str, Any]:
    """The classical methods a model of `kind` is compared with under `spec`, by short name."""
    from pixelforge.baselines import classical as cl

    if kind == "upscale":
        return {"bicubic": lambda x: cl.upscale_bicubic(x, scale),
                "lanczos": lambda x: cl.upscale_lanczos(x, scale)}
    if kind == "inpaint":
        return {"telea": cl.inpaint_telea, "ns": cl.inpaint_ns}
    if spec.startswith("noise:"):
        sigma = float(spec.split(":")[1])
        return {"nlmeans": lambda x: cl.nlmeans(x, sigma)}
    return {}


MIN_FD_IMAGES = 8  # fewer held-out crops give too few patches for a meaningful FD


def _extractor(request: EvalRequest, n_images: int):
    """The patch `cnn` extractor of the training photos (the data's train/ folder when it has
    one, else the evaluated folder itself), for FD; None when FD is off (options fd=False) or
    the evaluation set has fewer than MIN_FD_IMAGES images."""
    if not request.options.get("fd", True) or n_images < MIN_FD_IMAGES:
        return None
    from pixelforge.metrics.restoration_fd import photo_extractor

    base = Path(request.data)
    return photo_extractor(base / "train" if (base / "train").is_dir() else _folder(request))


def _restore_fn(kind: str, pipe: Any):
    if kind == "denoise":
        return lambda x: pipe.denoise(x, precision="fp32")
    if kind == "upscale":
        return lambda x: pipe.upscale(x, precision="fp32")
    return lambda x, m: pipe.inpaint(x, m, precision="fp32")


def restoration_scores_for(request: EvalRequest, kind: str) -> dict[str, Any]:
    pipe = request.pipeline
    opts = request.options
    crops = eval_crops(_folder(request), n=opts.get("n"), size=int(opts.get("crop", 256)),
                       seed=request.cfg.seed)
    scale = int(getattr(pipe, "scale", 1)) if kind == "upscale" else 1
    specs = opts.get("degradations") or DEFAULT_SPECS.get(kind) or [f"bicubic:{scale}"]
    scores: dict[str, Any] = {}
    from pixelforge.data.fingerprint import files_digest
    from pixelforge.data.photos import photo_files

    files = photo_files(_folder(request))
    fingerprint = files_digest(files[0].parent, files)[:16]
    extractor = _extractor(request, len(crops)) if kind in ("upscale", "inpaint") else None
    for spec in specs:
        tag = spec.replace(":", "")
        fns = {"model": _restore_fn(kind, pipe), **_baselines(kind, spec, scale)}
        results = {method: evaluate_restoration(fn, kind, crops, spec=spec, seed=request.cfg.seed)
                   for method, fn in fns.items()}
        if extractor is not None:  # FD in cnn features of 32 px patches (hole patches: inpaint)
            from pixelforge.metrics.restoration_fd import fd_scores

            for method, fd in fd_scores(fns, kind, crops, spec=spec, seed=request.cfg.seed,
                                        extractor=extractor).items():
                results[method]["fd_cnn"] = fd
        for method, res in results.items():
            proto = dict(res.pop("protocol"), data=str(request.data), split=request.split,
                         crop_size=int(opts.get("crop", 256)), method=method,
                         data_fingerprint=fingerprint)
            if extractor is not None:
                proto["fd"] = f"{extractor.label} (rotation) features of 32 px patches"
            for key, value in res.items():
                metric = f"{tag}_{key}" if method == "model" else f"{tag}_{key}_{method}"
                scores[metric] = value
                append_metrics(request.run_dir, {"metric": metric, "value": value,
                                                 "step": request.step, **proto})
    scores["real_data"] = f"{len(crops)} crops of {_folder(request)}"
    return scores


def evaluate_denoise(request: EvalRequest) -> dict[str, Any]:
    """PSNR/SSIM at sigma 15/25/50 and JPEG q30, against tuned NL-means on the noise levels."""
    return restoration_scores_for(request, "denoise")


def evaluate_upscale(request: EvalRequest) -> dict[str, Any]:
    """Y-PSNR/SSIM (scale px border cropped), RGB PSNR and patch FD, against PIL bicubic and
    Lanczos."""
    return restoration_scores_for(request, "upscale")


def evaluate_inpaint(request: EvalRequest) -> dict[str, Any]:
    """PSNR in the hole and on the whole image and FD of the hole patches for thin/medium/thick
    masks, against Telea and Navier-Stokes."""
    return restoration_scores_for(request, "inpaint")
